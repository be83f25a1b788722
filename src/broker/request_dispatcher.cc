#include "samsa/broker/request_dispatcher.h"

#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_thread.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/group/offsets_log.h"
#include "samsa/net/peer_log_limiter.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/api_versions_response.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

using protocol::ApiKey;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.network.RequestChannel");
  return l;
}

// Bad input is logged, but a flood from one address is summarised.
void warn_bad_input(const net::ConnectionInfo& conn, const std::string& message) {
  net::bad_input_log().log(log(), spdlog::level::warn, conn.peer, message);
}

// Kafka answers an ApiVersions request of a version it does not know with
// UNSUPPORTED_VERSION in the v0 layout, listing its own ApiVersions range so
// the client can retry with a version both sides speak.
void reject_api_versions_version(const RequestContext& ctx, std::shared_ptr<ReplyOnce> reply) {
  protocol::ApiVersionsResponse response;
  response.error_code = protocol::code(protocol::ErrorCode::UNSUPPORTED_VERSION);
  if (const ApiHandler* h = find_handler(static_cast<int16_t>(ApiKey::ApiVersions), ctx.listener_kind)) {
    protocol::ApiVersionsResponse::ApiVersion v;
    v.api_key = static_cast<int16_t>(ApiKey::ApiVersions);
    v.min_version = h->min_version;
    v.max_version = h->max_version;
    response.api_keys.push_back(v);
  }
  RequestContext v0 = ctx;
  v0.api_version = 0;
  Responder(v0, std::move(reply)).send(response);
}

// APIs whose handlers commit to the controller (and so fsync the metadata
// log, create or delete partitions) or write checkpoints: they run on the
// controller thread. Metadata hands its topic auto-creation over itself
// (handlers/metadata.cc), the common case being a plain read.
bool runs_on_controller_thread(const RequestContext& ctx) {
  switch (static_cast<ApiKey>(ctx.api_key)) {
    case ApiKey::CreateTopics:
    case ApiKey::DeleteTopics:
    case ApiKey::CreatePartitions:
    case ApiKey::AlterConfigs:
    case ApiKey::IncrementalAlterConfigs:
    case ApiKey::DeleteRecords:
    case ApiKey::InitProducerId:
    case ApiKey::AllocateProducerIds:
    case ApiKey::ElectLeaders:
    case ApiKey::AlterPartitionReassignments:
      return true;
    case ApiKey::FindCoordinator:
      // The first one creates the offsets topic (50 partitions by default).
      return ctx.services->metadata.current()->topic(group::kOffsetsTopic) == nullptr;
    default:
      return false;
  }
}

}  // namespace

void Responder::begin(protocol::WireWriter& w) const {
  w.int32(0);  // size, patched in finish()
  protocol::ResponseHeader header;
  header.correlation_id = correlation_id_;
  header.encode(w, protocol::response_header_version(api_key_, version_));
}

void Responder::finish(protocol::WireWriter& w) {
  w.patch_int32(0, static_cast<int32_t>(w.encoded_size() - 4));
  std::vector<net::FileSplice> splices;
  for (auto& s : w.take_splices()) splices.push_back(net::FileSplice{s.at, std::move(s.range)});
  (*reply_)(net::Reply::send(w.take(), std::move(splices)));
}

void RequestDispatcher::on_frame(const net::ConnectionInfo& conn, net::FramePtr frame, net::ReplyFn reply_fn) {
  auto reply = std::make_shared<ReplyOnce>(std::move(reply_fn));
  RequestContext ctx;
  ctx.connection = &conn;
  ctx.listener_kind = listener_;
  ctx.services = &services_;
  try {
    protocol::WireReader reader(*frame, frame);
    {
      protocol::WireReader peek(*frame);
      ctx.api_key = peek.int16();
      ctx.api_version = peek.int16();
    }
    const protocol::ApiInfo* api = protocol::find_api(ctx.api_key);
    if (!api) {
      warn_bad_input(conn, fmt::format("Closing connection from {} on {}: unknown API key {}", conn.peer,
                                       conn.listener_name, ctx.api_key));
      return (*reply)(net::Reply::close());
    }
    protocol::RequestHeader header;
    header.decode(reader, protocol::request_header_version(ctx.api_key, ctx.api_version));
    ctx.correlation_id = header.correlation_id;
    ctx.client_id = header.client_id;

    const ApiHandler* handler = find_handler(ctx.api_key, listener_);
    if (!handler) {
      warn_bad_input(conn, fmt::format("Closing connection from {} on {}: {} is not served on this listener (client {})",
                                       conn.peer, conn.listener_name, api->name, ctx.client_id.value_or("")));
      return (*reply)(net::Reply::close());
    }
    if (ctx.api_version < handler->min_version || ctx.api_version > handler->max_version) {
      if (handler->key == ApiKey::ApiVersions) return reject_api_versions_version(ctx, reply);
      warn_bad_input(conn, fmt::format("Closing connection from {} on {}: {} version {} is not supported (supported "
                                       "{}-{})",
                                       conn.peer, conn.listener_name, api->name, ctx.api_version, handler->min_version,
                                       handler->max_version));
      return (*reply)(net::Reply::close());
    }
    if (should_hand_over(ctx) && runs_on_controller_thread(ctx)) {
      const size_t body_at = reader.position();
      return run_on_controller_thread(
          ctx, Responder(ctx, reply), [frame, body_at, fn = handler->handle](const RequestContext& c, Responder r) {
            protocol::WireReader body(*frame, frame);
            body.take(body_at);
            fn(c, body, std::move(r));
          });
    }
    handler->handle(ctx, reader, Responder(ctx, reply));
  } catch (const protocol::DecodeError& e) {
    warn_bad_input(conn, fmt::format("Closing connection from {} on {}: malformed request (api key {}, version {}): {}",
                                     conn.peer, conn.listener_name, ctx.api_key, ctx.api_version, e.what()));
    (*reply)(net::Reply::close());
  } catch (const std::exception& e) {
    log()->error("Closing connection from {} on {}: error while handling api key {} version {}: {}", conn.peer,
                 conn.listener_name, ctx.api_key, ctx.api_version, e.what());
    (*reply)(net::Reply::close());
  }
}

}  // namespace samsa::broker
