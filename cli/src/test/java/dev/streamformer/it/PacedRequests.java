package dev.streamformer.it;

import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.streamformer.client.Requests;
import dev.streamformer.schemas.TokenizedInput;
import dev.streamformer.schemas.serde.StreamformerSerdes;

/**
 * Small requests produced at a steady pace on a thread of their own (bursts every 100 ms), so that
 * something is always in flight when a test kills or switches the processor.
 */
final class PacedRequests {

    private PacedRequests() {
    }

    /**
     * @param bootstrap the broker
     * @param topic the request topic
     * @param idPrefix request ids are this + sequence number
     * @param count how many
     * @param perBurst requests per 100 ms burst (10 x this per second)
     * @param produced counts what was sent
     * @return the started thread; join it
     */
    static Thread start(final String bootstrap, final String topic, final String idPrefix, final int count,
            final int perBurst, final AtomicInteger produced) {
        final Thread t = new Thread(() -> {
            final Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            try (KafkaProducer<String, TokenizedInput> producer = new KafkaProducer<>(p, new StringSerializer(),
                    StreamformerSerdes.tokenizedInput())) {
                for (int i = 0; i < count; i++) {
                    final String id = idPrefix + i;
                    producer.send(new ProducerRecord<>(topic, id, Requests.of(id, new int[] {2, 5 + i % 400, 7, 3})));
                    produced.incrementAndGet();
                    if (i % perBurst == perBurst - 1) {
                        producer.flush();
                        Thread.sleep(100);
                    }
                }
                producer.flush();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "paced-producer");
        t.start();
        return t;
    }
}
