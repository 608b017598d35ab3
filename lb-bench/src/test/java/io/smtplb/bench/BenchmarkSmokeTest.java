package io.smtplb.bench;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Collection;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs every benchmark of a class for one short iteration inside the test JVM, so that a benchmark broken by
 * a change in the code it measures fails the build instead of the next benchmark run. The scores are not
 * looked at beyond being positive: 100 ms without warm-up measures nothing.
 */
class BenchmarkSmokeTest {

    @ParameterizedTest
    @ValueSource(classes = {BackendPickBenchmark.class, SmtpReplyDecodeBenchmark.class,
            ProxyHeaderEncodeBenchmark.class, MetricsRecordingBenchmark.class})
    @Timeout(60)
    void benchmarkClassRunsOneIteration(Class<?> benchmarkClass) throws RunnerException {
        Options options = new OptionsBuilder()
                .include("^" + Pattern.quote(benchmarkClass.getName()) + "\\.")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(100))
                .shouldFailOnError(true)
                .verbosity(VerboseMode.SILENT)
                .build();

        Collection<RunResult> results = new Runner(options).run();

        assertThat(methodNames(results)).isEqualTo(benchmarkMethods(benchmarkClass));
        for (RunResult result : results) {
            assertThat(result.getPrimaryResult().getScore())
                    .as("score of %s %s", result.getParams().getBenchmark(), result.getParams().getParamsKeys())
                    .isPositive();
        }
    }

    private static Set<String> methodNames(Collection<RunResult> results) {
        return results.stream()
                .map(result -> result.getParams().getBenchmark())
                .map(name -> name.substring(name.lastIndexOf('.') + 1))
                .collect(Collectors.toSet());
    }

    private static Set<String> benchmarkMethods(Class<?> benchmarkClass) {
        return Arrays.stream(benchmarkClass.getMethods())
                .filter(method -> method.isAnnotationPresent(Benchmark.class))
                .map(Method::getName)
                .collect(Collectors.toSet());
    }
}
