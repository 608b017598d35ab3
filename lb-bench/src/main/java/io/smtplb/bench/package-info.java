/**
 * Benchmarks of smtplb: JMH microbenchmarks ({@code *Benchmark}) of the per-session steps, and the end-to-end
 * tools {@link io.smtplb.bench.SmtpLoad} (load generator) and {@link io.smtplb.bench.SmtpSink} (relay that
 * discards mail) that {@code lb-bench/compare.sh} runs against smtplb, HAProxy and nginx.
 *
 * <p>TODO: MetricsRecordingBenchmark for the cost of recording a session's metrics on the data path, once
 * lb-core has its metrics package; it is left out until that API exists.
 */
package io.smtplb.bench;
