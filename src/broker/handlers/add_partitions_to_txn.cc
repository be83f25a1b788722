// AddPartitionsToTxn (key 24): a producer adds partitions to its ongoing
// transaction (v0-3, one transaction); v4+ is the broker-to-broker batched
// form, whose verify_only transactions are KIP-890's question "is this
// partition in that producer's ongoing transaction?" (txn_verifier.h) and
// whose other transactions add partitions for transactions v2 producers.
// As Kafka's KafkaApis: partitions of unknown topics answer
// UNKNOWN_TOPIC_OR_PARTITION and the rest OPERATION_NOT_ATTEMPTED; a
// coordinator error applies to every partition of its transaction.
#include <memory>
#include <mutex>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/add_partitions_to_txn_request.h"
#include "samsa/protocol/gen/add_partitions_to_txn_response.h"

namespace samsa::broker {

using protocol::AddPartitionsToTxnRequest;
using protocol::AddPartitionsToTxnResponse;
using protocol::ErrorCode;

namespace {

using Topics = std::vector<AddPartitionsToTxnRequest::AddPartitionsToTxnTopic>;
using TopicResults = std::vector<AddPartitionsToTxnResponse::AddPartitionsToTxnTopicResult>;

// Every partition with `error`, or with its own error from `per_partition` (request order).
TopicResults results(const Topics& topics, ErrorCode error, const std::vector<ErrorCode>* per_partition = nullptr) {
  TopicResults out;
  size_t i = 0;
  for (const auto& t : topics) {
    auto& r = out.emplace_back();
    r.name = t.name;
    for (int32_t p : t.partitions) {
      auto& pr = r.results_by_partition.emplace_back();
      pr.partition_index = p;
      const ErrorCode e = per_partition && i < per_partition->size() ? (*per_partition)[i] : error;
      pr.partition_error_code = protocol::code(e);
      ++i;
    }
  }
  return out;
}

// Unknown topics or partitions: nullopt if all are known, else the answer.
std::optional<TopicResults> unknown_partitions(const RequestContext& ctx, const Topics& topics) {
  auto image = ctx.services->metadata.current();
  bool any_unknown = false;
  std::vector<ErrorCode> errors;
  for (const auto& t : topics) {
    const TopicImage* topic = image->topic(t.name);
    for (int32_t p : t.partitions) {
      const bool known = topic && topic->partition(p);
      any_unknown = any_unknown || !known;
      errors.push_back(known ? ErrorCode::OPERATION_NOT_ATTEMPTED : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    }
  }
  if (!any_unknown) return std::nullopt;
  return results(topics, ErrorCode::NONE, &errors);
}

std::vector<txn::TopicPartition> flatten(const Topics& topics) {
  std::vector<txn::TopicPartition> out;
  for (const auto& t : topics)
    for (int32_t p : t.partitions) out.emplace_back(t.name, p);
  return out;
}

// One transaction of the request: `done` gets its topic results.
void handle_one(const RequestContext& ctx, const std::string& id, int64_t pid, int16_t epoch, bool verify_only,
                const Topics& topics, int16_t version, std::function<void(TopicResults)> done) {
  txn::TransactionCoordinator* coordinator = ctx.services->transactions;
  if (!coordinator) return done(results(topics, ErrorCode::COORDINATOR_NOT_AVAILABLE));
  if (auto unknown = unknown_partitions(ctx, topics)) return done(std::move(*unknown));
  if (verify_only) {
    std::vector<ErrorCode> per_partition;
    const ErrorCode e = coordinator->verify_partitions(id, pid, epoch, flatten(topics), per_partition);
    if (e != ErrorCode::NONE) return done(results(topics, e));
    return done(results(topics, ErrorCode::NONE, &per_partition));
  }
  // v4+ without verify_only comes from a partition leader adding the
  // partition for a transactions v2 producer (KIP-890 part 2).
  const int16_t client_txn_version = version >= 4 ? txn::kTxnVersion2 : 0;
  coordinator->add_partitions(
      id, pid, epoch, flatten(topics),
      [topics, version, done = std::move(done)](ErrorCode e) {
        // PRODUCER_FENCED is v2+ (KIP-588).
        if (e == ErrorCode::PRODUCER_FENCED && version < 2) e = ErrorCode::INVALID_PRODUCER_EPOCH;
        done(results(topics, e));
      },
      client_txn_version);
}

}  // namespace

void handle_add_partitions_to_txn(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<AddPartitionsToTxnRequest>(body, ctx.api_version);
  const int16_t version = ctx.api_version;
  if (version < 4) {
    return handle_one(ctx, request.v3_and_below_transactional_id, request.v3_and_below_producer_id,
                      request.v3_and_below_producer_epoch, false, request.v3_and_below_topics, version,
                      [responder](TopicResults r) mutable {
                        AddPartitionsToTxnResponse response;
                        response.results_by_topic_v3_and_below = std::move(r);
                        responder.send(response);
                      });
  }
  // v4+: every transaction answered, then one response in request order.
  struct Gather {
    std::mutex mu;
    AddPartitionsToTxnResponse response;
    size_t remaining = 0;
  };
  auto gather = std::make_shared<Gather>();
  const size_t n = request.transactions.size();
  gather->remaining = n;
  gather->response.results_by_transaction.resize(n);
  if (n == 0) return responder.send(gather->response);
  for (size_t i = 0; i < n; ++i) {
    const auto& t = request.transactions[i];
    gather->response.results_by_transaction[i].transactional_id = t.transactional_id;
    handle_one(ctx, t.transactional_id, t.producer_id, t.producer_epoch, t.verify_only, t.topics, version,
               [gather, i, responder](TopicResults r) mutable {
                 bool last = false;
                 {
                   std::lock_guard lock(gather->mu);
                   gather->response.results_by_transaction[i].topic_results = std::move(r);
                   last = --gather->remaining == 0;
                 }
                 if (last) responder.send(gather->response);
               });
  }
}

}  // namespace samsa::broker
