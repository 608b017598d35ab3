package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Cost of the PROXY protocol header written before the first byte to a relay: building the
 * {@link HAProxyMessage} from the connection's address strings and encoding it with Netty's
 * {@link HAProxyMessageEncoder}, through an {@link EmbeddedChannel}.
 *
 * <p>Inputs: version 1 (text) or 2 (binary) for a TCP connection over IPv4 or IPv6. Each family uses one
 * fixed pair of documentation addresses at full length ({@code 203.0.113.195}, and an IPv6 address of eight
 * non-zero groups, which the v1 text form carries as written), client port 55512, relay port 25, and no TLVs.
 * {@code passThrough} writes a buffer of the v2 IPv6 header's size through a channel without an encoder and
 * is the baseline that separates the encoder from the cost of the embedded pipeline.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ProxyHeaderEncodeBenchmark {

    /** The address family of the proxied connection. */
    public enum Family {
        IPV4(HAProxyProxiedProtocol.TCP4, "203.0.113.195", "198.51.100.25"),
        IPV6(HAProxyProxiedProtocol.TCP6, "2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:1f70:99a:1:2:3:25");

        final HAProxyProxiedProtocol protocol;
        final String source;
        final String destination;

        Family(HAProxyProxiedProtocol protocol, String source, String destination) {
            this.protocol = protocol;
            this.source = source;
            this.destination = destination;
        }
    }

    /** Size of a v2 header for TCP over IPv6 without TLVs: 16 fixed bytes and 36 address bytes. */
    private static final int V2_IPV6_HEADER_BYTES = 52;

    /** The header to write; only {@code buildAndEncode} uses it, so the baseline runs once, not per header. */
    @State(Scope.Thread)
    public static class Header {

        @Param({"V1", "V2"})
        public HAProxyProtocolVersion version;

        @Param({"IPV4", "IPV6"})
        public Family family;
    }

    private EmbeddedChannel encoder;
    private EmbeddedChannel passThrough;
    private ByteBuf baselineHeader;

    @Setup
    public void createChannels() {
        encoder = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        passThrough = new EmbeddedChannel();
        baselineHeader = Unpooled.unreleasableBuffer(Unpooled.directBuffer(V2_IPV6_HEADER_BYTES)
                .writeZero(V2_IPV6_HEADER_BYTES));
    }

    @TearDown
    public void closeChannels() {
        encoder.finishAndReleaseAll();
        passThrough.finishAndReleaseAll();
    }

    @Benchmark
    public int buildAndEncode(Header input) {
        Family family = input.family;
        HAProxyMessage header = new HAProxyMessage(input.version, HAProxyCommand.PROXY, family.protocol,
                family.source, family.destination, 55512, 25);
        encoder.writeOutbound(header);
        ByteBuf encoded = encoder.readOutbound();
        int length = encoded.readableBytes();
        encoded.release();
        return length;
    }

    @Benchmark
    public int passThrough() {
        passThrough.writeOutbound(baselineHeader.duplicate());
        ByteBuf written = passThrough.readOutbound();
        return written.readableBytes();
    }
}
