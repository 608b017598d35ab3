package io.smtplb.bench;

import java.util.concurrent.atomic.LongAdder;

/** What an {@link SmtpSink} has received, updated from its event loops and read at any time. */
final class SinkCounters {

    final LongAdder connections = new LongAdder();
    final LongAdder messages = new LongAdder();
    final LongAdder dataBytes = new LongAdder();
    final LongAdder quits = new LongAdder();
    final LongAdder rejectedCommands = new LongAdder();

    /** Formats the counters as one JSON object. */
    String toJson() {
        return "{\"tool\":\"smtp-sink\",\"connections\":" + connections.sum()
                + ",\"messages\":" + messages.sum()
                + ",\"dataBytes\":" + dataBytes.sum()
                + ",\"quits\":" + quits.sum()
                + ",\"rejectedCommands\":" + rejectedCommands.sum() + "}";
    }
}
