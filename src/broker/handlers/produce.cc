// Produce (key 0), as Kafka 4.0's KafkaApis.handleProduceRequest and
// ReplicaManager.appendRecords answer it. Versions 0-2 are advertised (so
// librdkafka enables MsgVer2, KAFKA-18659) but, like Kafka 4.0, refused by
// closing the connection.
#include <map>
#include <vector>

#include "leader_endpoints.h"
#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/internal_topics.h"
#include "samsa/broker/replica/delayed_produce.h"
#include "samsa/broker/txn/txn_verifier.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/produce_request.h"
#include "samsa/protocol/gen/produce_response.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/util/logging.h"
#include "samsa/util/turn_scope.h"

namespace samsa::broker {

using protocol::CompressionType;
using protocol::ErrorCode;
using protocol::ProduceRequest;
using protocol::ProduceResponse;
using PartitionResponse = ProduceResponse::TopicProduceResponse::PartitionProduceResponse;

namespace {

constexpr int16_t kFirstServedVersion = 3;
constexpr const char* kAdminClientId = "__admin_client";
constexpr size_t kMaxDecompressedBatch = 256u * 1024 * 1024;  // recompression bound (decompression bombs)

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.ReplicaManager");
  return l;
}

PartitionResponse error_response(int32_t index, ErrorCode error, std::optional<std::string> message = std::nullopt) {
  PartitionResponse p;
  p.index = index;
  p.error_code = protocol::code(error);
  p.base_offset = -1;
  p.log_append_time_ms = -1;
  p.log_start_offset = -1;
  p.error_message = std::move(message);
  return p;
}

std::optional<CompressionType> topic_codec(const std::string& compression_type) {
  if (compression_type == "uncompressed") return CompressionType::kNone;
  if (compression_type == "gzip") return CompressionType::kGzip;
  if (compression_type == "snappy") return CompressionType::kSnappy;
  if (compression_type == "lz4") return CompressionType::kLz4;
  if (compression_type == "zstd") return CompressionType::kZstd;
  return std::nullopt;  // "producer": keep the producer's codec
}

// compression.<codec>.level for the broker's own recompression.
int compression_level(const log::LogConfig& config, CompressionType codec) {
  switch (codec) {
    case CompressionType::kGzip:
      return config.compression_gzip_level;
    case CompressionType::kLz4:
      return config.compression_lz4_level;
    case CompressionType::kZstd:
      return config.compression_zstd_level;
    default:
      return protocol::kDefaultCompressionLevel;  // none, snappy: no levels
  }
}

// ProduceRequest.validateRecords (v3+): exactly one magic-2 batch; zstd needs v7.
std::optional<PartitionResponse> validate_records(int32_t index, const protocol::Records& records, int16_t version) {
  if (records.is_null() || records.size() == 0)
    return error_response(index, ErrorCode::INVALID_RECORD,
                          "Produce requests with version " + std::to_string(version) +
                              " must have at least one record batch per partition");
  auto bytes = records.bytes();
  if (bytes.size() < protocol::RecordBatchHeader::kSize)
    return error_response(index, ErrorCode::CORRUPT_MESSAGE, "Record batch is truncated");
  if (bytes[protocol::RecordBatchHeader::kMagicPos] != 2)
    return error_response(index, ErrorCode::INVALID_RECORD,
                          "Produce requests with version " + std::to_string(version) +
                              " are only allowed to contain record batches with magic version 2");
  auto header = protocol::RecordBatchHeader::parse(bytes);
  if (version < 7 && header.compression() == CompressionType::kZstd)
    return error_response(index, ErrorCode::UNSUPPORTED_COMPRESSION_TYPE,
                          "Produce requests with version " + std::to_string(version) +
                              " are not allowed to use ZStandard compression");
  if (header.size_in_bytes() < bytes.size())
    return error_response(index, ErrorCode::INVALID_RECORD,
                          "Produce requests with version " + std::to_string(version) +
                              " are only allowed to contain exactly one record batch");
  return std::nullopt;
}

bool has_transactional_batch(const ProduceRequest& request) {
  for (const auto& t : request.topic_data)
    for (const auto& p : t.partition_data) {
      auto b = p.records.bytes();
      if (b.size() >= protocol::RecordBatchHeader::kSize && b[protocol::RecordBatchHeader::kMagicPos] == 2 &&
          protocol::RecordBatchHeader::parse(b).is_transactional())
        return true;
    }
  return false;
}

// An append still to be replicated (acks=all) or fsynced (delayed_produce.h).
struct Pending {
  size_t topic = 0, partition = 0;  // where its answer sits in the response
  replica::ReplicationWait wait;
};

// `may_stage`: inside a network thread's read turn, the append may be
// staged (log.h); then `staged` says which end to publish before answering.
PartitionResponse append(const BrokerServices& services, const MetadataImage& image, const std::string& topic,
                         const ProduceRequest::TopicProduceData::PartitionProduceData& data, int16_t acks,
                         int16_t version, std::optional<uint64_t> verification_guard, bool may_stage,
                         std::optional<replica::ReplicationWait>& wait,
                         std::optional<replica::ReplicationWait>& staged) {
  if (auto bad = validate_records(data.index, data.records, version)) return *bad;
  auto found = lookup_leader_partition(services, image, topic, data.index);
  if (found.error != ErrorCode::NONE) {
    auto p = error_response(data.index, found.error);
    if (found.error == ErrorCode::NOT_LEADER_OR_FOLLOWER)
      if (const TopicImage* t = image.topic(topic))
        if (const PartitionImage* pi = t->partition(data.index)) {
          p.current_leader.leader_id = pi->leader;
          p.current_leader.leader_epoch = pi->leader_epoch;
        }
    return p;
  }
  replica::Partition& partition = *found.partition;

  // Offset assignment rewrites batch headers in place. Without recompression
  // that happens in the request's own bytes: the frame is this request's
  // alone (net/frame_handler.h) and nothing reads the batch after its
  // append, so a copy per partition (3% of the broker's CPU) buys nothing.
  auto in = data.records.bytes();
  std::vector<uint8_t> buffer;
  std::span<uint8_t> batch;
  const log::LogConfig config = partition.log()->config();
  auto target = topic_codec(config.compression_type);
  auto header = protocol::RecordBatchHeader::parse(in);
  if (target && *target != header.compression()) {
    if (!protocol::verify_crc(in)) return error_response(data.index, ErrorCode::CORRUPT_MESSAGE);
    try {
      buffer = protocol::recompress_batch(protocol::BatchView{header, in}, *target, kMaxDecompressedBatch,
                                          compression_level(config, *target));
    } catch (const protocol::DecodeError& e) {
      return error_response(data.index, ErrorCode::CORRUPT_MESSAGE, e.what());
    }
    batch = std::span<uint8_t>(buffer);
  } else {
    batch = std::span<uint8_t>(const_cast<uint8_t*>(in.data()), in.size());
  }

  // acks=all: NOT_ENOUGH_REPLICAS before anything is written when the ISR
  // is below min.insync.replicas; the partition moves the high watermark.
  // Staged bytes stay in the request's frame until written: only when the
  // batch is the frame's own (not a recompressed copy) and its owner is known.
  std::shared_ptr<const void> stage_owner;
  if (may_stage && buffer.empty()) stage_owner = data.records.owner();
  auto result = partition.append_as_leader(batch, acks, log::AppendOrigin::kClient,
                                           verification_guard, std::move(stage_owner));
  if (!result) {
    const replica::PartitionError& err = result.error();
    log()->debug("Error processing append operation on partition {}-{}: {}", topic, data.index, err.message);
    if (err.code == ErrorCode::NOT_ENOUGH_REPLICAS)
      return error_response(data.index, err.code, err.message);
    // As Kafka's ReplicaManager: only a batch refused for its records (a
    // RecordValidationException there) carries error_message and the
    // per-record errors (v8+); other failures carry the code alone.
    if (err.record_errors.empty()) return error_response(data.index, err.code);
    auto p = error_response(data.index, err.code, err.message);
    p.record_errors.reserve(err.record_errors.size());
    for (const auto& r : err.record_errors) {
      auto& e = p.record_errors.emplace_back();
      e.batch_index = r.batch_index;
      e.batch_index_error_message = r.message;
    }
    return p;
  }
  // acks=all: answered once the ISR has it (a retried duplicate too: its
  // first append may not be replicated yet). Durable mode (flush.messages
  // reached): also once the leader's flusher fsynced it; the network thread
  // does not wait for the fsync.
  if (acks == -1 || result->awaits_flush)
    wait = replica::ReplicationWait{found.partition, result->last_offset + 1, acks == -1, result->awaits_flush};
  if (result->staged) staged = replica::ReplicationWait{found.partition, result->last_offset + 1};

  PartitionResponse p;
  p.index = data.index;
  p.base_offset = result->first_offset;
  p.log_append_time_ms = result->log_append_time;
  p.log_start_offset = result->log_start_offset;
  return p;
}

// What the appends need after the handler returned: a request whose
// transactional writes are verified with their coordinator first (KIP-890
// part 1) is appended from the verifier's callback, on whichever thread it
// runs; no network thread waits for it.
struct ProduceState {
  explicit ProduceState(Responder r) : responder(std::move(r)) {}
  BrokerServices* services = nullptr;
  int16_t version = 0;
  std::optional<std::string> client_id;
  std::optional<std::string> listener;  // the connection's, for KIP-951 endpoints
  ProduceRequest request;
  Responder responder;
  using Key = std::pair<size_t, size_t>;  // (topic index, partition index) in the request
  // The guard each transactional write presents when verification is in
  // force (0: its transaction was already open here), and the errors of
  // the verification itself.
  std::map<Key, uint64_t> guards;
  std::map<Key, ErrorCode> verify_errors;
};

// Produce v12+ comes from a transactions v2 client (KIP-890 part 2): it
// never sends AddPartitionsToTxn, so the leader adds the partition to the
// transaction itself, whatever transaction.partition.verification.enable says.
bool adds_partitions(const ProduceState& s) { return s.version >= 12; }

bool verification_in_force(const ProduceState& s) {
  return s.request.transactional_id && s.services->txn_verifier != nullptr && s.services->config != nullptr &&
         (s.services->config->transaction_partition_verification_enable || adds_partitions(s));
}

// Kafka's ReplicaManager.appendRecords with verification: each
// transactional write that would open its producer's transaction on a
// partition this broker leads takes a verification guard and is checked
// with the coordinator; the rest need no answer.
txn::TxnVerifyRequest plan_verification(ProduceState& s, const MetadataImage& image,
                                        std::vector<ProduceState::Key>& asked) {
  txn::TxnVerifyRequest verify;
  verify.transactional_id = s.request.transactional_id.value_or("");
  verify.add_partitions = adds_partitions(s);
  for (size_t ti = 0; ti < s.request.topic_data.size(); ++ti) {
    const auto& topic = s.request.topic_data[ti];
    for (size_t pi = 0; pi < topic.partition_data.size(); ++pi) {
      auto bytes = topic.partition_data[pi].records.bytes();
      if (bytes.size() < protocol::RecordBatchHeader::kSize || bytes[protocol::RecordBatchHeader::kMagicPos] != 2)
        continue;
      const auto header = protocol::RecordBatchHeader::parse(bytes);
      if (!header.is_transactional() || header.producer_id < 0) continue;
      auto found = lookup_leader_partition(*s.services, image, topic.name, topic.partition_data[pi].index);
      if (found.error != ErrorCode::NONE) continue;  // the append answers it
      auto& log = *found.partition->log();
      s.guards[{ti, pi}] = 0;
      if (log.has_ongoing_txn(header.producer_id, header.producer_epoch)) continue;
      s.guards[{ti, pi}] = log.start_txn_verification(header.producer_id);
      verify.producer_id = header.producer_id;
      verify.producer_epoch = header.producer_epoch;
      verify.partitions.emplace_back(topic.name, topic.partition_data[pi].index);
      asked.push_back({ti, pi});
    }
  }
  return verify;
}

void respond(const std::shared_ptr<ProduceState>& state, ProduceResponse response, std::vector<Pending> pending,
             bool any_error);

// Staged appends (append()): written and made readable here, at the end of
// the read turn that staged them, before anything is answered. One that
// cannot be written is answered with its error, never with its offset.
void publish_staged(ProduceResponse& response, std::vector<Pending>& pending, const std::vector<Pending>& staged, bool& any_error) {
  for (const auto& st : staged) {
    auto err = st.wait.partition->publish_staged(st.wait.required_offset);
    if (!err) continue;
    auto& p = response.responses[st.topic].partition_responses[st.partition];
    log()->debug("Error processing append operation on partition {}-{}: {}", response.responses[st.topic].name,
                 p.index, err->message);
    p = error_response(p.index, err->code);
    any_error = true;
    std::erase_if(pending, [&](const Pending& w) { return w.topic == st.topic && w.partition == st.partition; });
  }
}

void append_all(const std::shared_ptr<ProduceState>& state) {
  ProduceState& s = *state;
  const ProduceRequest& request = s.request;
  auto image = s.services->metadata.current();
  const bool valid_acks = request.acks == 0 || request.acks == 1 || request.acks == -1;
  const bool txn_denied = !request.transactional_id && has_transactional_batch(request);
  // Inside a read turn appends are staged and written once per partition at
  // its end (util/turn_scope.h); anywhere else (a verifier's callback, a
  // test) they are written at once.
  const bool may_stage = util::TurnScope::active();

  ProduceResponse response;
  bool any_error = false;
  std::vector<Pending> pending;
  std::vector<Pending> staged;
  for (size_t ti = 0; ti < request.topic_data.size(); ++ti) {
    const auto& topic = request.topic_data[ti];
    auto& tr = response.responses.emplace_back();
    tr.name = topic.name;
    for (size_t pi = 0; pi < topic.partition_data.size(); ++pi) {
      const auto& part = topic.partition_data[pi];
      PartitionResponse p;
      auto verify_error = s.verify_errors.find({ti, pi});
      if (txn_denied) p = error_response(part.index, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      else if (!valid_acks) p = error_response(part.index, ErrorCode::INVALID_REQUIRED_ACKS);
      else if (!image->topic(topic.name) || !image->topic(topic.name)->partition(part.index))
        p = error_response(part.index, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      else if (is_internal_topic(topic.name) && s.client_id != kAdminClientId)
        // Only the broker's coordinators write there (Kafka lets its own
        // admin tooling through under this client id).
        p = error_response(part.index, ErrorCode::INVALID_TOPIC_EXCEPTION,
                           "Cannot append to internal topic " + topic.name);
      else if (verify_error != s.verify_errors.end())
        p = error_response(part.index, verify_error->second);
      else {
        std::optional<replica::ReplicationWait> wait, staged_end;
        auto guard = s.guards.find({ti, pi});
        std::optional<uint64_t> verification_guard;
        if (guard != s.guards.end()) verification_guard = guard->second;
        else if (verification_in_force(s)) verification_guard = 0;  // not looked up: refused if it opens a txn
        p = append(*s.services, *image, topic.name, part, request.acks, s.version, verification_guard, may_stage,
                   wait, staged_end);
        if (wait) pending.push_back({response.responses.size() - 1, tr.partition_responses.size(), std::move(*wait)});
        if (staged_end)
          staged.push_back({response.responses.size() - 1, tr.partition_responses.size(), std::move(*staged_end)});
      }
      any_error = any_error || p.error_code != 0;
      tr.partition_responses.push_back(std::move(p));
    }
  }
  if (staged.empty()) return respond(state, std::move(response), std::move(pending), any_error);
  auto shared = std::make_shared<ProduceResponse>(std::move(response));
  util::TurnScope::defer([state, shared, pending = std::move(pending), staged = std::move(staged), any_error]() mutable {
    try {
      publish_staged(*shared, pending, staged, any_error);
      respond(state, std::move(*shared), std::move(pending), any_error);
    } catch (const std::exception& e) {
      log()->error("Closing connection: answering a produce failed: {}", e.what());
      state->responder.close();
    }
  });
}

void respond(const std::shared_ptr<ProduceState>& state, ProduceResponse response, std::vector<Pending> pending,
             bool any_error) {
  ProduceState& s = *state;
  const ProduceRequest& request = s.request;
  auto image = s.services->metadata.current();
  Responder responder = s.responder;
  if (request.acks == 0) {
    // Kafka closes the connection when an acks=0 produce fails, so the
    // client notices (it reads no responses) and refreshes its metadata.
    return any_error ? responder.close() : responder.no_response();
  }
  std::set<int32_t> leaders;  // KIP-951
  for (const auto& t : response.responses)
    for (const auto& p : t.partition_responses)
      if (names_new_leader(p.error_code, p.current_leader.leader_id)) leaders.insert(p.current_leader.leader_id);
  if (!leaders.empty() && s.listener) add_leader_endpoints(*image, *s.listener, leaders, response);
  if (pending.empty()) return responder.send(response);
  std::vector<replica::ReplicationWait> waits;
  for (const auto& p : pending) waits.push_back(p.wait);
  auto shared = std::make_shared<ProduceResponse>(std::move(response));
  replica::await_replication(
      fetch_waiters(s.services), s.services->scheduler, std::move(waits), request.timeout_ms,
      [shared, pending = std::move(pending), responder](std::vector<ErrorCode> errors) mutable {
        for (size_t i = 0; i < errors.size(); ++i) {
          if (errors[i] == ErrorCode::NONE) continue;
          auto& p = shared->responses[pending[i].topic].partition_responses[pending[i].partition];
          p.error_code = protocol::code(errors[i]);
        }
        responder.send(*shared);
      });
}

}  // namespace

void handle_produce(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  if (ctx.api_version < kFirstServedVersion) {
    // Kafka 4.0 advertises Produce v0-2 but rejects them while parsing the
    // header ("unsupported version"), which closes the connection.
    log()->warn("Closing connection: Produce v{} is no longer supported (client {})", ctx.api_version,
                ctx.client_id.value_or(""));
    return responder.close();
  }
  auto state = std::make_shared<ProduceState>(responder);
  state->services = ctx.services;
  state->version = ctx.api_version;
  state->client_id = ctx.client_id;
  if (ctx.connection != nullptr) state->listener = ctx.connection->listener_name;
  state->request = decode_request<ProduceRequest>(body, ctx.api_version);
  const auto& request = state->request;
  const bool valid_acks = request.acks == 0 || request.acks == 1 || request.acks == -1;
  if (valid_acks && verification_in_force(*state)) {
    std::vector<ProduceState::Key> asked;
    auto verify = plan_verification(*state, *ctx.services->metadata.current(), asked);
    if (!asked.empty()) {
      ctx.services->txn_verifier->verify(
          std::move(verify), [state, asked = std::move(asked)](std::vector<ErrorCode> errors) {
            for (size_t i = 0; i < asked.size(); ++i) {
              const ErrorCode e = i < errors.size() ? errors[i] : ErrorCode::UNKNOWN_SERVER_ERROR;
              if (e != ErrorCode::NONE) state->verify_errors[asked[i]] = e;
            }
            append_all(state);
          });
      return;
    }
  }
  append_all(state);
}

}  // namespace samsa::broker
