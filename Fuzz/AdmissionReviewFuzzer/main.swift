import FuzzDriver

runFuzzer { data, size in admissionReviewFuzzer(data, size) }
