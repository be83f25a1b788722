// TxnOffsetCommit (key 28): a transactional producer commits a consumer
// group's offsets inside its transaction (sendOffsetsToTransaction, after
// AddOffsetsToTxn put the group's __consumer_offsets partition in the
// transaction). The offsets take effect with the transaction's COMMIT
// marker. v2+ carry the leader epoch; v3+ the member, generation and static
// instance id, checked when given. v5 comes from a transactions v2 client
// (KIP-890 part 2), which sends no AddOffsetsToTxn: the group's partition is
// first added to the transaction here, through the same coordinator request
// a partition leader makes for a Produce v12.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/txn_verifier.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/txn_offset_commit_request.h"
#include "samsa/protocol/gen/txn_offset_commit_response.h"

namespace samsa::broker {

using protocol::TxnOffsetCommitRequest;
using protocol::TxnOffsetCommitResponse;

void handle_txn_offset_commit(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<TxnOffsetCommitRequest>(body, ctx.api_version);
  group::TxnCommitRequest tr;
  tr.transactional_id = request.transactional_id;
  tr.group_id = request.group_id;
  tr.producer_id = request.producer_id;
  tr.producer_epoch = request.producer_epoch;
  if (ctx.api_version >= 3) {
    tr.generation_id = request.generation_id;
    tr.member_id = request.member_id;
    tr.group_instance_id = request.group_instance_id;
  }
  for (const auto& t : request.topics)
    for (const auto& p : t.partitions)
      tr.partitions.push_back({t.name, p.partition_index, p.committed_offset,
                               ctx.api_version >= 2 ? p.committed_leader_epoch : -1, p.committed_metadata});

  // Answered once the write is replicated (or failed), on whichever thread
  // completes it.
  auto answer = [request = std::move(request), responder](std::vector<protocol::ErrorCode> errors) mutable {
    TxnOffsetCommitResponse response;
    size_t i = 0;
    for (const auto& t : request.topics) {
      auto& rt = response.topics.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partitions) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition_index = p.partition_index;
        rp.error_code = protocol::code(errors[i++]);
      }
    }
    responder.send(response);
  };
  auto* groups = group::coordinator(ctx);
  const size_t n = tr.partitions.size();
  if (!groups) return answer(std::vector<protocol::ErrorCode>(n, protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE));
  txn::TxnVerifier* verifier = ctx.services->txn_verifier;
  if (ctx.api_version < 5 || verifier == nullptr) return groups->commit_txn_offsets(std::move(tr), std::move(answer));

  txn::TxnVerifyRequest add;
  add.transactional_id = tr.transactional_id;
  add.producer_id = tr.producer_id;
  add.producer_epoch = tr.producer_epoch;
  add.partitions.emplace_back("__consumer_offsets", groups->partition_for(tr.group_id));
  add.add_partitions = true;
  verifier->verify(std::move(add), [groups, n, tr = std::move(tr), answer = std::move(answer)](
                                       std::vector<protocol::ErrorCode> errors) mutable {
    auto e = errors.empty() ? protocol::ErrorCode::UNKNOWN_SERVER_ERROR : errors.front();
    if (e == protocol::ErrorCode::NONE) return groups->commit_txn_offsets(std::move(tr), std::move(answer));
    // The verifier speaks to producers; NOT_ENOUGH_REPLICAS (coordinator
    // busy or unreachable) is not a TxnOffsetCommit code: the retriable one
    // every client knows is COORDINATOR_NOT_AVAILABLE.
    if (e == protocol::ErrorCode::NOT_ENOUGH_REPLICAS) e = protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE;
    answer(std::vector<protocol::ErrorCode>(n, e));
  });
}

}  // namespace samsa::broker
