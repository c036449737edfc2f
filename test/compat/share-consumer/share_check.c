/* A librdkafka share consumer (KIP-932) for checking Pier: joins GROUP on TOPIC, acknowledges
 * explicitly — RELEASE the first delivery of values starting "again", REJECT values starting
 * "poison", ACCEPT the rest — and prints "partition offset delivery_count value" per record until
 * it has accepted WANT records or TIMEOUT_S seconds pass. Exit 0 when WANT were accepted. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s BOOTSTRAP GROUP TOPIC WANT [TIMEOUT_S]\n", argv[0]);
    return 2;
  }
  const char *bootstrap = argv[1], *group = argv[2], *topic = argv[3];
  int want = atoi(argv[4]);
  int timeout_s = argc > 5 ? atoi(argv[5]) : 30;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
      rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) ||
      rd_kafka_conf_set(conf, "share.acknowledgement.mode", "explicit", errstr, sizeof errstr)) {
    fprintf(stderr, "conf: %s\n", errstr);
    return 2;
  }
  const char *debug = getenv("SHARE_DEBUG");
  if (debug) rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof errstr);
  rd_kafka_share_t *share = rd_kafka_share_consumer_new(conf, errstr, sizeof errstr);
  if (!share) {
    fprintf(stderr, "share consumer: %s\n", errstr);
    return 2;
  }
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_share_subscribe(share, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(err));
    return 2;
  }
  int accepted = 0;
  time_t end = time(NULL) + timeout_s;
  while (accepted < want && time(NULL) < end) {
    rd_kafka_messages_t *batch = NULL;
    rd_kafka_error_t *error = rd_kafka_share_poll(share, 500, &batch);
    if (error) {
      fprintf(stderr, "poll: %s\n", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
      rd_kafka_messages_destroy(batch);
      continue;
    }
    size_t count = batch ? rd_kafka_messages_count(batch) : 0;
    for (size_t i = 0; i < count; i++) {
      rd_kafka_message_t *m = rd_kafka_messages_get(batch, i);
      if (m->err) {
        fprintf(stderr, "record error: %s\n", rd_kafka_message_errstr(m));
        continue;
      }
      int deliveries = rd_kafka_message_delivery_count(m);
      int len = (int)m->len;
      const char *value = m->payload ? (const char *)m->payload : "";
      printf("%d %lld %d %.*s\n", (int)m->partition, (long long)m->offset, deliveries, len, value);
      rd_kafka_share_AcknowledgeType_t type = RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT;
      if (len >= 5 && strncmp(value, "again", 5) == 0 && deliveries == 1)
        type = RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_RELEASE;
      else if (len >= 6 && strncmp(value, "poison", 6) == 0)
        type = RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_REJECT;
      else
        accepted++;
      rd_kafka_resp_err_t ack = rd_kafka_share_acknowledge_type(share, m, type);
      if (ack) fprintf(stderr, "acknowledge: %s\n", rd_kafka_err2str(ack));
    }
    rd_kafka_messages_destroy(batch);
    fflush(stdout);
  }
  rd_kafka_error_t *closed = rd_kafka_share_consumer_close(share);
  if (closed) {
    fprintf(stderr, "close: %s\n", rd_kafka_error_string(closed));
    rd_kafka_error_destroy(closed);
  }
  rd_kafka_share_destroy(share);
  fprintf(stderr, "accepted %d of %d\n", accepted, want);
  return accepted >= want ? 0 : 1;
}
