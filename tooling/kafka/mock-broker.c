/*
 * A Kafka cluster for tests: librdkafka's mock cluster (it speaks the Kafka protocol on 127.0.0.1 ports the OS
 * picks), driven over stdin/stdout by tooling/kafka/mock-broker.ts, which compiles this file on first use.
 *
 *   argv[1]        number of brokers
 *   stdout line 1  the bootstrap servers ("127.0.0.1:port,...")
 *   stdin          one command a line, each answered by one line, "ok" or the error:
 *                    create <topic> <partitions>             a topic with that many partitions
 *                    fail <apiKey> <errorCode> <count>       the next <count> requests of that API fail so
 *                  EOF (the parent closed stdin, or died) destroys the cluster and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char **argv) {
  char err[512];
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  if (brokers < 1) {
    fprintf(stderr, "usage: mock-broker <brokers>\n");
    return 2;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the cluster; it never connects anywhere. */
  rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "mock-broker: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    fprintf(stderr, "mock-broker: cannot create the mock cluster\n");
    return 1;
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);

  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    char topic[512];
    int partitions, apiKey, errorCode, count;
    rd_kafka_resp_err_t e;
    if (sscanf(line, "create %511s %d", topic, &partitions) == 2) {
      e = rd_kafka_mock_topic_create(cluster, topic, partitions, brokers < 3 ? brokers : 3);
    } else if (sscanf(line, "fail %d %d %d", &apiKey, &errorCode, &count) == 3) {
      for (int i = 0; i < count; i++) rd_kafka_mock_push_request_errors(cluster, apiKey, 1, (rd_kafka_resp_err_t)errorCode);
      e = RD_KAFKA_RESP_ERR_NO_ERROR;
    } else {
      printf("unknown command: %s", line);
      fflush(stdout);
      continue;
    }
    printf("%s\n", e ? rd_kafka_err2str(e) : "ok");
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
