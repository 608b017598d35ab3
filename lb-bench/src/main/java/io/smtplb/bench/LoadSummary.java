package io.smtplb.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;

/**
 * Medians over the rounds of a run, per target. The ratio to the baseline is taken within each round first
 * (target and baseline sampled minutes apart at most), and the median of those ratios is reported.
 */
final class LoadSummary {

    /** Medians of one target. */
    record Row(String target, int samples, double sessionsPerSecond, double ratioToBaseline,
               double megabytesPerSecond, double greetingP50Ms, double greetingP99Ms, double sessionP99Ms,
               double cpuSecondsPer10kSessions, double cpuSecondsPerGigabyte, long failures) {
    }

    private final LoadSettings settings;
    private final List<Row> rows;

    private LoadSummary(LoadSettings settings, List<Row> rows) {
        this.settings = settings;
        this.rows = rows;
    }

    static LoadSummary of(LoadSettings settings, List<SampleResult> results) {
        List<Row> rows = new ArrayList<>();
        for (Target target : settings.targets()) {
            List<SampleResult> own = results.stream().filter(r -> r.target().equals(target)).toList();
            rows.add(row(target.name(), own, ratios(settings, results, target)));
        }
        return new LoadSummary(settings, rows);
    }

    List<Row> rows() {
        return rows;
    }

    void print(PrintStream out, Consumer<String> json) {
        out.printf(Locale.ROOT, "%nsummary of %s (medians over %d rounds; ratio to %s within each round)%n",
                settings.workload(), settings.rounds(), settings.baseline());
        out.printf(Locale.ROOT, "%-10s %10s %7s %9s %9s %9s %10s %12s %10s %8s%n", "target", "sessions/s", "ratio",
                "MB/s", "ttg p50", "ttg p99", "sess p99", "cpu s/10k", "cpu s/GB", "failures");
        for (Row row : rows) {
            out.printf(Locale.ROOT, "%-10s %10.1f %7.3f %9.2f %7.2fms %7.2fms %8.2fms %12.3f %10.2f %8d%n",
                    row.target(), row.sessionsPerSecond(), row.ratioToBaseline(), row.megabytesPerSecond(),
                    row.greetingP50Ms(), row.greetingP99Ms(), row.sessionP99Ms(), row.cpuSecondsPer10kSessions(),
                    row.cpuSecondsPerGigabyte(), row.failures());
            json.accept(json(row));
        }
    }

    private String json(Row row) {
        return new JsonLine().add("type", "summary").add("workload", settings.workload())
                .add("target", row.target()).add("baseline", settings.baseline()).add("samples", row.samples())
                .add("sessionsPerSecond", row.sessionsPerSecond()).add("ratioToBaseline", row.ratioToBaseline())
                .add("megabytesPerSecond", row.megabytesPerSecond()).add("greetingP50Ms", row.greetingP50Ms())
                .add("greetingP99Ms", row.greetingP99Ms()).add("sessionP99Ms", row.sessionP99Ms())
                .add("cpuSecondsPer10kSessions", row.cpuSecondsPer10kSessions())
                .add("cpuSecondsPerGB", row.cpuSecondsPerGigabyte()).add("failures", row.failures())
                .toString();
    }

    private static Row row(String target, List<SampleResult> own, double[] ratios) {
        long failures = own.stream().mapToLong(r -> r.stats().failureCount()).sum();
        return new Row(target, own.size(),
                median(own, SampleResult::sessionsPerSecond),
                median(ratios),
                median(own, SampleResult::megabytesPerSecond),
                median(own, r -> r.stats().greetingMillis(50)),
                median(own, r -> r.stats().greetingMillis(99)),
                median(own, r -> r.stats().sessionMillis(99)),
                median(own, SampleResult::cpuSecondsPer10kSessions),
                median(own, SampleResult::cpuSecondsPerGigabyte),
                failures);
    }

    /** Returns target/baseline sessions per second for every round in which both were sampled. */
    private static double[] ratios(LoadSettings settings, List<SampleResult> results, Target target) {
        List<Double> ratios = new ArrayList<>();
        for (int round = 1; round <= settings.rounds(); round++) {
            double own = rate(results, target.name(), round);
            double baseline = rate(results, settings.baseline(), round);
            if (baseline > 0) {
                ratios.add(own / baseline);
            }
        }
        return ratios.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static double rate(List<SampleResult> results, String target, int round) {
        for (SampleResult result : results) {
            if (result.round() == round && result.target().name().equals(target)) {
                return result.sessionsPerSecond();
            }
        }
        return Double.NaN;
    }

    private static double median(List<SampleResult> results, ToDoubleFunction<SampleResult> metric) {
        return median(results.stream().mapToDouble(metric).toArray());
    }

    /** Returns the median of the finite values, or NaN when there are none. */
    static double median(double[] values) {
        double[] finite = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
        if (finite.length == 0) {
            return Double.NaN;
        }
        int middle = finite.length / 2;
        return finite.length % 2 == 1 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2;
    }
}
