import FuzzDriver

runFuzzer { data, size in pemFuzzer(data, size) }
