package dev.streamformer.stream;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import javax.management.JMException;
import javax.management.ObjectName;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the C heap's free memory back to the system after a model closes. A closed ONNX Runtime
 * session frees its weights and activation arena with {@code free}, but glibc keeps most of it in
 * its arenas: without a trim the resident memory rose 25-50 MB with each new model version in the
 * hour-long soak and never came down (docs/FAULTS.md). The trim is the JVM's own
 * {@code System.trim_native_heap} diagnostic command ({@code malloc_trim}), run through the
 * platform MBean server on a thread of its own, so no stream thread waits for it. Where the JVM has
 * no such command (another C library, another JVM) nothing happens.
 */
final class NativeHeap {

    private static final Logger LOG = LoggerFactory.getLogger(NativeHeap.class);
    private static final String COMMAND = "systemTrimNativeHeap";
    private static final AtomicBoolean UNAVAILABLE = new AtomicBoolean();
    private static final AtomicInteger BACKGROUND_TRIMS = new AtomicInteger();

    private NativeHeap() {
    }

    /**
     * Trims the C heap in the background.
     *
     * @param why what was freed, for the log line
     */
    static void trimAfter(final String why) {
        if (UNAVAILABLE.get()) {
            return;
        }
        final Thread trim = new Thread(() -> {
            final String result = trim();
            if (result != null) {
                LOG.info("After closing {}: {}", why, result.strip());
                BACKGROUND_TRIMS.incrementAndGet();
            }
        }, "streamformer-native-heap-trim");
        trim.setDaemon(true);
        trim.start();
    }

    /** @return how many background trims this JVM has finished */
    static int backgroundTrims() {
        return BACKGROUND_TRIMS.get();
    }

    /**
     * Trims the C heap now.
     *
     * @return the JVM's report ("Trim native heap: RSS+Swap: 377M->339M (-38400K)"), or null where the
     *     command does not exist
     */
    static String trim() {
        try {
            return String.valueOf(ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), COMMAND,
                    new Object[] {new String[0]}, new String[] {String[].class.getName()}));
        } catch (JMException | RuntimeException e) {
            if (!UNAVAILABLE.getAndSet(true)) {
                LOG.debug("This JVM cannot trim the C heap ({}); closed models' memory stays with the allocator", e
                        .toString());
            }
            return null;
        }
    }
}
