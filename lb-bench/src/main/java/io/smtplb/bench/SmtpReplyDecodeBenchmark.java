package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.smtp.SmtpResponse;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Cost of reading an SMTP reply the way the health probe and the greeting inspection do: Netty's
 * {@link SmtpResponseDecoder} in a pipeline, fed through an {@link EmbeddedChannel}.
 *
 * <p>Inputs, each arriving in one read as from a relay on the local network (replies split across reads are
 * not measured): a one-line 220 greeting, the common case; a three-line 220 greeting as sent by relays with a
 * banner notice; and an 11-line 250 reply to EHLO with the extensions a Postfix relay advertises.
 * {@code passThrough} writes the EHLO reply's bytes through a channel without a decoder and is the baseline
 * that separates the decoder from the cost of the embedded pipeline.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SmtpReplyDecodeBenchmark {

    /** Longest reply line the decoder accepts, as in a probe that allows generous banners. */
    private static final int MAX_LINE_LENGTH = 1024;

    private static final ByteBuf ONE_LINE_GREETING = input("220 mx1.example.net ESMTP Postfix (Debian/GNU)\r\n");

    private static final ByteBuf MULTI_LINE_GREETING = input(
            "220-mx1.example.net ESMTP Postfix (Debian/GNU)\r\n"
            + "220-Unsolicited bulk mail is not accepted on this system.\r\n"
            + "220 mx1.example.net ready\r\n");

    private static final ByteBuf EHLO_REPLY = input(
            "250-mx1.example.net\r\n"
            + "250-PIPELINING\r\n"
            + "250-SIZE 52428800\r\n"
            + "250-VRFY\r\n"
            + "250-ETRN\r\n"
            + "250-STARTTLS\r\n"
            + "250-ENHANCEDSTATUSCODES\r\n"
            + "250-8BITMIME\r\n"
            + "250-DSN\r\n"
            + "250-SMTPUTF8\r\n"
            + "250 CHUNKING\r\n");

    private EmbeddedChannel decoder;
    private EmbeddedChannel passThrough;

    @Setup
    public void createChannels() {
        decoder = new EmbeddedChannel(new SmtpResponseDecoder(MAX_LINE_LENGTH));
        passThrough = new EmbeddedChannel();
    }

    @TearDown
    public void closeChannels() {
        decoder.finishAndReleaseAll();
        passThrough.finishAndReleaseAll();
    }

    @Benchmark
    public SmtpResponse oneLineGreeting() {
        return decode(ONE_LINE_GREETING);
    }

    @Benchmark
    public SmtpResponse multiLineGreeting() {
        return decode(MULTI_LINE_GREETING);
    }

    @Benchmark
    public SmtpResponse ehloReply() {
        return decode(EHLO_REPLY);
    }

    @Benchmark
    public int passThrough() {
        passThrough.writeInbound(EHLO_REPLY.duplicate());
        ByteBuf read = passThrough.readInbound();
        return read.readableBytes();
    }

    private SmtpResponse decode(ByteBuf reply) {
        decoder.writeInbound(reply.duplicate());
        SmtpResponse response = decoder.readInbound();
        if (response == null) {
            throw new IllegalStateException("decoder produced no reply from a complete reply");
        }
        return response;
    }

    /** Returns a direct buffer, as a socket read produces, that the pipeline cannot free. */
    private static ByteBuf input(String reply) {
        byte[] bytes = reply.getBytes(StandardCharsets.US_ASCII);
        return Unpooled.unreleasableBuffer(Unpooled.directBuffer(bytes.length).writeBytes(bytes));
    }
}
