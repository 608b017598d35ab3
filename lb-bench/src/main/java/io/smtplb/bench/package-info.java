/**
 * Benchmarks of smtplb: JMH microbenchmarks ({@code *Benchmark}) of the per-session steps, and the end-to-end
 * tools {@link io.smtplb.bench.SmtpLoad} (load generator) and {@link io.smtplb.bench.SmtpSink} (relay that
 * discards mail) that {@code lb-bench/compare.sh} runs against smtplb, HAProxy and nginx.
 */
package io.smtplb.bench;
