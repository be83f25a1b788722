#pragma once
// KIP-890 part 1 (Kafka's AddPartitionsToTxnManager): before a partition
// leader accepts the first transactional batch of a producer's transaction,
// it asks the producer's transaction coordinator whether the partition is in
// that ongoing transaction (AddPartitionsToTxn v4+, verify_only). A write of
// an old transaction that arrives after its marker is then refused instead
// of opening a transaction nobody will ever end.
//
// Transactions v2 (KIP-890 part 2, Produce v12+): the client sends no
// AddPartitionsToTxn; the same request, without verify_only, asks the
// coordinator to add the partitions to the producer's transaction (starting
// one if none is open), so the answer NONE means "added".
//
// Threading: verify() is safe from any thread and never blocks (requests to
// the same coordinator are batched); `done` runs exactly once on any thread.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "samsa/protocol/error_code.h"

namespace samsa::broker::txn {

struct TxnVerifyRequest {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::vector<std::pair<std::string, int32_t>> partitions;  // (topic, partition)
  bool add_partitions = false;  // transactions v2: add them, not only verify
};

class TxnVerifier {
 public:
  virtual ~TxnVerifier() = default;
  // One error per requested partition, request order: NONE when the
  // coordinator has it in the producer's ongoing transaction; else the code
  // the Produce answer carries for it (INVALID_TXN_STATE,
  // INVALID_PRODUCER_EPOCH, NOT_ENOUGH_REPLICAS for a coordinator that is
  // loading or unreachable, as Kafka maps them for producers).
  virtual void verify(TxnVerifyRequest request, std::function<void(std::vector<protocol::ErrorCode>)> done) = 0;
};

}  // namespace samsa::broker::txn
