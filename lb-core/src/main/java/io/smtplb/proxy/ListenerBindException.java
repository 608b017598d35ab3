package io.smtplb.proxy;

/** A listener address could not be bound: in use, not local, or not permitted. */
public final class ListenerBindException extends RuntimeException {
    public ListenerBindException(String message, Throwable cause) {
        super(message, cause);
    }
}
