package io.smtplb.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.registry.MetricType;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.Unit;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A classic Prometheus histogram in seconds whose {@link Bucket#observe} allocates nothing.
 *
 * <p>The client library's own {@code Histogram} (1.10.0) creates a capturing lambda on every observation. On
 * JDK 17, escape analysis removed it at some call sites and not at others, where it cost 40 bytes per
 * observation. This family keeps a {@link LongAdder} per bucket instead and builds the snapshot at scrape time. A scrape that
 * runs while sessions close may see a sum that already includes an observation whose bucket it has not
 * counted yet. The next scrape is consistent again.
 */
final class HistogramFamily implements Collector {

    private final String name;
    private final String help;
    private final String[] labelNames;
    /** Upper bounds in seconds, ending with +Inf. */
    private final double[] upperBounds;
    private final List<Bucket> dataPoints = new CopyOnWriteArrayList<>();

    HistogramFamily(String name, String help, double[] upperBoundsSeconds, String... labelNames) {
        this.name = name;
        this.help = help;
        this.labelNames = labelNames.clone();
        this.upperBounds = Arrays.copyOf(upperBoundsSeconds, upperBoundsSeconds.length + 1);
        this.upperBounds[upperBoundsSeconds.length] = Double.POSITIVE_INFINITY;
    }

    /** Creates the data point for one set of label values; call once per label set and keep the result. */
    Bucket dataPoint(String... labelValues) {
        Bucket bucket = new Bucket(Labels.of(labelNames, labelValues), upperBounds);
        dataPoints.add(bucket);
        return bucket;
    }

    @Override
    public MetricSnapshot collect() {
        HistogramSnapshot.Builder snapshot = HistogramSnapshot.builder().name(name).help(help).unit(Unit.SECONDS);
        for (Bucket bucket : dataPoints) {
            snapshot.dataPoint(bucket.snapshot());
        }
        return snapshot.build();
    }

    @Override
    public String getPrometheusName() {
        return name;
    }

    @Override
    public MetricType getMetricType() {
        return MetricType.HISTOGRAM;
    }

    /** The observations of one label set. Thread-safe and lock-free. */
    static final class Bucket {
        private final Labels labels;
        private final double[] upperBounds;
        private final LongAdder[] counts;
        private final DoubleAdder sum = new DoubleAdder();

        private Bucket(Labels labels, double[] upperBounds) {
            this.labels = labels;
            this.upperBounds = upperBounds;
            this.counts = new LongAdder[upperBounds.length];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new LongAdder();
            }
        }

        /** Records one value in seconds. */
        void observe(double seconds) {
            int index = 0;
            while (seconds > upperBounds[index]) {
                index++;
            }
            counts[index].increment();
            sum.add(seconds);
        }

        /** Returns the number of observations so far. */
        long count() {
            long total = 0;
            for (LongAdder count : counts) {
                total += count.sum();
            }
            return total;
        }

        private HistogramDataPointSnapshot snapshot() {
            long[] perBucket = new long[counts.length];
            for (int i = 0; i < counts.length; i++) {
                perBucket[i] = counts[i].sum();
            }
            HistogramDataPointSnapshot.Builder point = HistogramDataPointSnapshot.builder()
                    .classicHistogramBuckets(ClassicHistogramBuckets.of(upperBounds, perBucket));
            point.sum(sum.sum());
            point.labels(labels);
            return point.build();
        }
    }
}
