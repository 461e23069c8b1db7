import FuzzDriver

runFuzzer { data, size in manifestFuzzer(data, size) }
