package io.smtplb.health;

import java.util.Objects;

/**
 * The name of a checked backend: its pool and its own name within the pool.
 *
 * @param pool the pool's name
 * @param backend the backend's name, unique within its pool
 */
public record BackendRef(String pool, String backend) {

    public BackendRef {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(backend, "backend");
    }

    /** Returns {@code pool/backend}, the form used in log lines. */
    @Override
    public String toString() {
        return pool + "/" + backend;
    }
}
