"""Scripts that measure hwr: latency, training, fine-tuning, start-up. Each writes its section of BENCHMARKS.md."""
