// TxnVerificationManager: verifications (and the implicit adds of
// transactions v2) queue per coordinator node, keyed
// by transactional id (AddPartitionsToTxn carries each id once); one
// request in flight per node; the answer is split back into the waiters.
#include "samsa/broker/txn/txn_verification_manager.h"

#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "inter_broker_endpoint.h"
#include "samsa/broker/group/coordinator_records.h"
#include "samsa/net/kafka_client.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/add_partitions_to_txn_request.h"
#include "samsa/protocol/gen/add_partitions_to_txn_response.h"
#include "samsa/util/logging.h"

namespace samsa::broker::txn {

using protocol::AddPartitionsToTxnRequest;
using protocol::AddPartitionsToTxnResponse;
using protocol::ErrorCode;

namespace {

using TopicPartition = std::pair<std::string, int32_t>;
using Done = std::function<void(std::vector<ErrorCode>)>;
constexpr int16_t kVerifyVersion = 4;  // the first broker-batched version (KIP-890)
constexpr const char* kTransactionStateTopic = "__transaction_state";

auto verify_logger() { return samsa::logger("samsa.server.AddPartitionsToTxnManager"); }

// What a producer is told for a coordinator's error (see the header).
ErrorCode produce_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::PRODUCER_FENCED: return ErrorCode::INVALID_PRODUCER_EPOCH;
    case ErrorCode::CONCURRENT_TRANSACTIONS:
    case ErrorCode::NETWORK_EXCEPTION:
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode::COORDINATOR_NOT_AVAILABLE:
    case ErrorCode::NOT_COORDINATOR:
    case ErrorCode::REQUEST_TIMED_OUT:
      return ErrorCode::NOT_ENOUGH_REPLICAS;
    default: return e;
  }
}

}  // namespace

struct TxnVerificationManager::Impl {
  struct Waiter {
    std::vector<TopicPartition> partitions;  // request order
    Done done;
  };
  // One transactional id's verification in the next request to a node.
  struct Entry {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    bool add_partitions = false;  // transactions v2: verify_only=false
    std::set<TopicPartition> partitions;
    std::vector<Waiter> waiters;
  };
  struct Node {
    std::map<std::string, Entry> queued;
    bool in_flight = false;
  };
  using Answers = std::vector<std::pair<Done, std::vector<ErrorCode>>>;

  Impl(ImageFn image_fn, TxnVerificationOptions o)
      : image(std::move(image_fn)), options(std::move(o)), client(client_options(options)) {}

  static net::KafkaClientOptions client_options(const TxnVerificationOptions& o) {
    net::KafkaClientOptions c;
    c.client_id = o.client_id;
    c.request_timeout_ms = o.request_timeout_ms;
    c.connect_timeout_ms = o.connect_timeout_ms;
    return c;
  }

  const ImageFn image;
  const TxnVerificationOptions options;
  std::mutex mu;
  bool closing = false;
  std::map<int32_t, Node> nodes;
  // Last member: destroyed (its I/O thread joined) before what its
  // callbacks touch.
  net::KafkaClient client;

  static void run(Answers& answers) {
    for (auto& [done, errors] : answers) done(std::move(errors));
    answers.clear();
  }

  static void answer_all(Entry& e, ErrorCode error, Answers& answers) {
    for (auto& w : e.waiters) answers.emplace_back(std::move(w.done), std::vector<ErrorCode>(w.partitions.size(), error));
    e.waiters.clear();
  }

  // The coordinator node of `transactional_id`, or the error to answer.
  std::pair<int32_t, ErrorCode> coordinator_of(const MetadataImage& img, const std::string& transactional_id) const {
    const TopicImage* topic = img.topic(kTransactionStateTopic);
    if (topic == nullptr || topic->partitions.empty()) return {-1, ErrorCode::COORDINATOR_NOT_AVAILABLE};
    const int32_t count = static_cast<int32_t>(topic->partitions.size());
    const PartitionImage* p = topic->partition(group::partition_for(transactional_id, count));
    if (p == nullptr || p->leader < 0 || !inter_broker_endpoint(img, p->leader, options.listener))
      return {-1, ErrorCode::COORDINATOR_NOT_AVAILABLE};
    return {p->leader, ErrorCode::NONE};
  }

  struct Outgoing {
    int32_t node = -1;
    net::Endpoint endpoint;
    AddPartitionsToTxnRequest request;
    std::map<std::string, Entry> entries;
  };

  // REQUIRES: mu. The next request to `node_id` (marking it in flight), or
  // nullopt. A node that lost its endpoint answers its queue at once.
  std::optional<Outgoing> take_locked(int32_t node_id, Answers& answers) {
    Node& node = nodes[node_id];
    if (node.in_flight || node.queued.empty()) return std::nullopt;
    auto endpoint = inter_broker_endpoint(*image(), node_id, options.listener);
    if (!endpoint) {
      for (auto& [id, e] : node.queued) answer_all(e, produce_error(ErrorCode::COORDINATOR_NOT_AVAILABLE), answers);
      node.queued.clear();
      return std::nullopt;
    }
    Outgoing out;
    out.node = node_id;
    out.endpoint = *endpoint;
    out.entries.swap(node.queued);
    for (const auto& [id, e] : out.entries) {
      auto& t = out.request.transactions.emplace_back();
      t.transactional_id = id;
      t.producer_id = e.producer_id;
      t.producer_epoch = e.producer_epoch;
      t.verify_only = !e.add_partitions;
      std::map<std::string, std::vector<int32_t>> topics;
      for (const auto& [topic, partition] : e.partitions) topics[topic].push_back(partition);
      for (auto& [name, partitions] : topics) {
        auto& tt = t.topics.emplace_back();
        tt.name = name;
        tt.partitions = std::move(partitions);
      }
    }
    node.in_flight = true;
    return out;
  }

  void send(Outgoing o) {
    client.call<AddPartitionsToTxnResponse>(
        o.endpoint, kVerifyVersion, o.request,
        [this, node = o.node, entries = std::make_shared<std::map<std::string, Entry>>(std::move(o.entries))](
            std::optional<AddPartitionsToTxnResponse> response) { on_response(node, *entries, response); });
  }

  // The per-partition errors of one transactional id in `response`.
  static std::map<TopicPartition, ErrorCode> results_for(const AddPartitionsToTxnResponse& response,
                                                         const std::string& transactional_id) {
    std::map<TopicPartition, ErrorCode> out;
    for (const auto& r : response.results_by_transaction) {
      if (r.transactional_id != transactional_id) continue;
      for (const auto& t : r.topic_results)
        for (const auto& p : t.results_by_partition)
          out[{t.name, p.partition_index}] = produce_error(static_cast<ErrorCode>(p.partition_error_code));
    }
    return out;
  }

  void on_response(int32_t node_id, std::map<std::string, Entry>& entries,
                   const std::optional<AddPartitionsToTxnResponse>& response) {
    Answers answers;
    std::optional<Outgoing> next;
    {
      std::lock_guard lock(mu);
      nodes[node_id].in_flight = false;
      std::optional<ErrorCode> all;  // one error for everything
      if (!response) {
        all = produce_error(ErrorCode::NETWORK_EXCEPTION);
        if (!closing) verify_logger()->info("AddPartitionsToTxn to broker {} failed (connection lost or timed out)", node_id);
      } else if (response->error_code != 0) {
        const auto e = static_cast<ErrorCode>(response->error_code);
        all = e == ErrorCode::CLUSTER_AUTHORIZATION_FAILED ? ErrorCode::INVALID_TXN_STATE : produce_error(e);
      }
      for (auto& [id, e] : entries) {
        if (all) {
          answer_all(e, *all, answers);
          continue;
        }
        const auto results = results_for(*response, id);
        for (auto& w : e.waiters) {
          std::vector<ErrorCode> errors;
          errors.reserve(w.partitions.size());
          for (const auto& tp : w.partitions) {
            auto it = results.find(tp);
            // A partition the coordinator did not answer for is not verified.
            errors.push_back(it == results.end() ? ErrorCode::NOT_ENOUGH_REPLICAS : it->second);
          }
          answers.emplace_back(std::move(w.done), std::move(errors));
        }
      }
      if (!closing) next = take_locked(node_id, answers);
    }
    run(answers);
    if (next) send(std::move(*next));
  }

  void verify(TxnVerifyRequest request, Done done) {
    if (request.partitions.empty()) return done({});
    Answers answers;
    std::optional<Outgoing> out;
    {
      std::lock_guard lock(mu);
      auto [node_id, error] = closing ? std::pair{-1, ErrorCode::COORDINATOR_NOT_AVAILABLE}
                                      : coordinator_of(*image(), request.transactional_id);
      if (error != ErrorCode::NONE) {
        answers.emplace_back(std::move(done), std::vector<ErrorCode>(request.partitions.size(), produce_error(error)));
      } else {
        Node& node = nodes[node_id];
        auto [it, fresh] = node.queued.try_emplace(request.transactional_id);
        Entry& e = it->second;
        bool join = fresh;
        if (!fresh) {
          if (e.producer_epoch > request.producer_epoch) {
            // The caller's epoch is already older than a queued one.
            answers.emplace_back(std::move(done),
                                 std::vector<ErrorCode>(request.partitions.size(), ErrorCode::INVALID_PRODUCER_EPOCH));
          } else if (e.producer_epoch == request.producer_epoch && e.producer_id == request.producer_id) {
            join = true;
          } else {
            // A newer epoch (or another producer id) replaces what is queued.
            answer_all(e, e.producer_epoch < request.producer_epoch ? ErrorCode::INVALID_PRODUCER_EPOCH
                                                                    : ErrorCode::NOT_ENOUGH_REPLICAS,
                       answers);
            e = Entry{};
            join = true;
          }
        }
        if (join) {
          e.producer_id = request.producer_id;
          e.producer_epoch = request.producer_epoch;
          // One producer id and epoch is one client, so one transaction version.
          e.add_partitions = e.add_partitions || request.add_partitions;
          e.partitions.insert(request.partitions.begin(), request.partitions.end());
          e.waiters.push_back({std::move(request.partitions), std::move(done)});
          out = take_locked(node_id, answers);
        }
      }
    }
    run(answers);
    if (out) send(std::move(*out));
  }

  void close() {
    {
      std::lock_guard lock(mu);
      if (closing) return;
      closing = true;
    }
    // In-flight requests fail (nullopt) and answer their waiters; nothing
    // new is sent once closing is set, so the queues are answered here.
    client.close();
    Answers answers;
    {
      std::lock_guard lock(mu);
      for (auto& [id, node] : nodes)
        for (auto& [tid, e] : node.queued) answer_all(e, ErrorCode::NOT_ENOUGH_REPLICAS, answers);
      nodes.clear();
    }
    run(answers);
  }
};

TxnVerificationManager::TxnVerificationManager(ImageFn image, TxnVerificationOptions options)
    : impl_(std::make_unique<Impl>(std::move(image), std::move(options))) {}

TxnVerificationManager::~TxnVerificationManager() { close(); }

void TxnVerificationManager::verify(TxnVerifyRequest request, std::function<void(std::vector<ErrorCode>)> done) {
  impl_->verify(std::move(request), std::move(done));
}

void TxnVerificationManager::close() { impl_->close(); }

}  // namespace samsa::broker::txn
