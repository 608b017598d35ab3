package io.smtplb.proxy;

import io.netty.channel.Channel;

import java.util.concurrent.RejectedExecutionException;

/**
 * Closes channels only after their event loop has handled every event of its current epoll batch.
 *
 * <p>Netty 4.1's epoll transport finds the channel of an event by the socket's descriptor number. Suppose a
 * session closes its relay socket while an event for that socket still waits later in the same batch, and a
 * socket opened in the same batch (an accepted client or a new relay connection) gets the freed number.
 * Netty then hands the waiting event to the new channel. A stale end-of-stream event delivered this way shut
 * down the input of a new relay connection: the session stalled with the relay's next reply unread in the
 * kernel. A close that runs as an event loop task comes after the batch, so the number stays taken until then.
 *
 * <p>For the same reason the client and relay channels have Netty's auto-close off: a failed write fails its
 * promise or fires an exception, and the session closes the channel through this class.
 */
final class Closing {

    private Closing() {
    }

    /** Closes {@code channel} once the current batch of events is handled. */
    static void later(Channel channel) {
        try {
            channel.eventLoop().execute(channel::close);
        } catch (RejectedExecutionException shuttingDown) {
            channel.close();
        }
    }
}
