package io.smtplb.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Counts the bytes a channel reads, both through its pipeline (copy) and through splice(2).
 *
 * <p>Spliced bytes never reach the pipeline, but Netty's epoll transport reports the size of every splice
 * from the socket into the pipe to the channel's receive handle, just as it reports ordinary reads. This
 * allocator's handle delegates sizing to Netty's adaptive handle and adds up those reports. One instance
 * belongs to one channel and is read on that channel's event loop.
 */
final class CountingRecvByteBufAllocator implements RecvByteBufAllocator {

    /**
     * Read buffer sizes: Netty's adaptive sizing between 4 KiB and 64 KiB, starting at 16 KiB. With Netty's
     * default lower bound of 64 bytes, a run of short SMTP replies shrinks the guess to 1 KiB, and the next
     * message body then takes several reads and as many writes. A read buffer is held only until its bytes are
     * written to the other side, so idle sessions hold none.
     */
    private static final AdaptiveRecvByteBufAllocator ADAPTIVE = new AdaptiveRecvByteBufAllocator(4096, 16384, 65536);

    private long bytesRead;

    /** Returns the bytes read from the socket so far. */
    long bytesRead() {
        return bytesRead;
    }

    @Override
    public Handle newHandle() {
        return new CountingHandle((ExtendedHandle) ADAPTIVE.newHandle());
    }

    private final class CountingHandle implements ExtendedHandle {
        private final ExtendedHandle delegate;

        CountingHandle(ExtendedHandle delegate) {
            this.delegate = delegate;
        }

        @Override
        public void lastBytesRead(int bytes) {
            if (bytes > 0) {
                bytesRead += bytes;
            }
            delegate.lastBytesRead(bytes);
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return delegate.allocate(alloc);
        }

        @Override
        public int guess() {
            return delegate.guess();
        }

        @Override
        public void reset(ChannelConfig config) {
            delegate.reset(config);
        }

        @Override
        public void incMessagesRead(int numMessages) {
            delegate.incMessagesRead(numMessages);
        }

        @Override
        public int lastBytesRead() {
            return delegate.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            delegate.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return delegate.attemptedBytesRead();
        }

        @Override
        public boolean continueReading() {
            return delegate.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return delegate.continueReading(maybeMoreDataSupplier);
        }

        @Override
        public void readComplete() {
            delegate.readComplete();
        }
    }
}
