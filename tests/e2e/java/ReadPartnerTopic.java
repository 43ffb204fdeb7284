// A partner's Java client, configured by nothing but the .properties file `partners add` wrote:
// java -cp 'kafka-libs/*' ReadPartnerTopic.java FILE TOPIC GROUP SECONDS
// prints each value it read on a line of its own, then "read N".
import java.io.FileReader;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

public class ReadPartnerTopic {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (FileReader file = new FileReader(args[0])) {
            props.load(file);
        }
        props.put("group.id", args[2]);
        props.put("auto.offset.reset", "earliest");
        props.put("key.deserializer", StringDeserializer.class.getName());
        props.put("value.deserializer", StringDeserializer.class.getName());
        Instant until = Instant.now().plusSeconds(Long.parseLong(args[3]));
        int read = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(args[1]));
            while (read == 0 && Instant.now().isBefore(until)) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    System.out.println(record.value());
                    read++;
                }
            }
        }
        System.out.println("read " + read);
    }
}
