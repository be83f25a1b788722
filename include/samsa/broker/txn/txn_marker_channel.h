#pragma once
// The TxnMarkerSender that writes markers over the network (Kafka's
// TransactionMarkerChannelManager). A job's partitions are grouped by their
// leader in the metadata image; each destination broker has a queue and at
// most one WriteTxnMarkers (v1) request in flight, which carries every
// job queued for it by then (one marker per producer id per request, since
// answers are matched by producer id). Requests go to the leader's
// inter-broker listener, over this channel's own net::KafkaClient.
//
// Per partition, as Kafka's TransactionMarkerRequestCompletionHandler:
// NONE (or UNSUPPORTED_FOR_MESSAGE_FORMAT / UNSUPPORTED_VERSION, which
// Kafka also counts as done) ends it; INVALID_PRODUCER_EPOCH and
// TRANSACTION_COORDINATOR_FENCED end the whole job with kAbandoned (a newer
// coordinator or producer epoch owns the transaction now); every other
// error, a lost connection, a timeout, a partition without a leader or a
// leader without an endpoint is retried after retry_backoff_ms, from a
// fresh look at the image. A partition whose topic is gone from the image
// counts as written.
//
// Threading: as TxnMarkerSender. Requests are built on the channel's own
// thread; answers are handled on the client's I/O thread; `done` callbacks
// run on either, or on the caller of abandon()/close(), never under a lock.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "samsa/broker/metadata_image.h"
#include "samsa/broker/txn/txn_marker_sender.h"

namespace samsa::broker::txn {

struct TxnMarkerChannelOptions {
  // inter.broker.listener.name: the listener of the leaders' endpoints.
  std::string listener = "PLAINTEXT";
  std::string client_id = "transaction-marker-channel";
  int64_t retry_backoff_ms = 100;
  // Above the request.timeout.ms (30 s) a leader waits for its ISR before
  // answering a marker.
  int64_t request_timeout_ms = 40'000;
  int64_t connect_timeout_ms = 10'000;
};

class TransactionMarkerChannel final : public TxnMarkerSender {
 public:
  using ImageFn = std::function<std::shared_ptr<const MetadataImage>()>;

  TransactionMarkerChannel(ImageFn image, TxnMarkerChannelOptions options);
  ~TransactionMarkerChannel() override;  // close()
  TransactionMarkerChannel(const TransactionMarkerChannel&) = delete;
  TransactionMarkerChannel& operator=(const TransactionMarkerChannel&) = delete;

  void send(TxnMarkerJob job, std::function<void(TxnMarkerOutcome)> done) override;
  void abandon(int32_t txn_partition) override;

  // Stops the thread and the client; pending jobs end with kAbandoned, and
  // so does any later send(), at once. Idempotent. Not from a `done`.
  void close();

  // Jobs not yet ended (tests, logs).
  size_t pending_jobs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::broker::txn
