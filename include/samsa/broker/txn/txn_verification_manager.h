#pragma once
// The TxnVerifier that asks transaction coordinators over the network
// (Kafka's AddPartitionsToTxnManager). The coordinator of a transactional
// id is the leader of its __transaction_state partition (Kafka's
// partitionFor over the topic's partition count in the image); requests to
// one coordinator are batched: while one AddPartitionsToTxn (v4,
// verify_only, or not for a transactions v2 add) is in flight to it, later verifications queue and share the
// next request. Two verifications of the same transactional id queued
// together merge when they carry the same producer id and epoch; otherwise
// the older epoch is answered INVALID_PRODUCER_EPOCH (as Kafka does).
//
// Errors become what the Produce answer carries (Kafka's
// AddPartitionsToTxnManager + ReplicaManager mapping): PRODUCER_FENCED ->
// INVALID_PRODUCER_EPOCH; CLUSTER_AUTHORIZATION_FAILED at the top level ->
// INVALID_TXN_STATE; CONCURRENT_TRANSACTIONS, COORDINATOR_LOAD_IN_PROGRESS,
// COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, an unknown coordinator, a
// lost connection or a timeout -> NOT_ENOUGH_REPLICAS (retried by every
// producer without a metadata refresh); the rest as the coordinator said.
//
// Threading: as TxnVerifier. No thread of its own: requests go out from the
// caller of verify() or from the client's I/O thread after an answer;
// `done` runs on either (or on the caller of close()), never under a lock.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "samsa/broker/metadata_image.h"
#include "samsa/broker/txn/txn_verifier.h"

namespace samsa::broker::txn {

struct TxnVerificationOptions {
  // inter.broker.listener.name: where coordinators are reached.
  std::string listener = "PLAINTEXT";
  std::string client_id = "add-partitions-to-txn-manager";
  int64_t request_timeout_ms = 30'000;  // Kafka's request.timeout.ms default
  int64_t connect_timeout_ms = 10'000;
};

class TxnVerificationManager final : public TxnVerifier {
 public:
  using ImageFn = std::function<std::shared_ptr<const MetadataImage>()>;

  TxnVerificationManager(ImageFn image, TxnVerificationOptions options);
  ~TxnVerificationManager() override;  // close()
  TxnVerificationManager(const TxnVerificationManager&) = delete;
  TxnVerificationManager& operator=(const TxnVerificationManager&) = delete;

  void verify(TxnVerifyRequest request, std::function<void(std::vector<protocol::ErrorCode>)> done) override;

  // Answers everything queued or in flight with NOT_ENOUGH_REPLICAS and
  // every later verify() the same, at once. Idempotent. Not from a `done`.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::broker::txn
