// samsa-rdkafka-group-admin: librdkafka's consumer-group admin API from the
// command line, for the integration tests.
//
// Debian 12's python3-confluent-kafka (1.7.0) predates AdminClient's
// list/describe/delete_consumer_groups and *_consumer_group_offsets, but the
// librdkafka underneath (2.0.2) has the C calls those methods wrap. This tool
// makes exactly those calls, so the broker sees what a confluent-kafka 2.x
// AdminClient sends: ListGroups, DescribeGroups, DeleteGroups, OffsetFetch,
// OffsetCommit and OffsetDelete, each behind FindCoordinator.
//
//   samsa-rdkafka-group-admin list           --bootstrap B [--state S]...
//   samsa-rdkafka-group-admin describe       --bootstrap B GROUP...
//   samsa-rdkafka-group-admin delete         --bootstrap B GROUP...
//   samsa-rdkafka-group-admin list-offsets   --bootstrap B GROUP [--partition topic:p]...
//   samsa-rdkafka-group-admin alter-offsets  --bootstrap B GROUP topic:p=offset...
//   samsa-rdkafka-group-admin delete-offsets --bootstrap B GROUP topic:p...
//
// Each prints one JSON document on stdout. Kafka errors (per group, per
// partition, or for the whole request) are values in it: null, or
// {"code": 15, "name": "COORDINATOR_NOT_AVAILABLE", "message": "..."}.
// Exit codes: 0 done (Kafka errors included), 1 client-level failure
// (librdkafka's own errors such as _TIMED_OUT, message on stderr), 2 usage.

#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct ToolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A malformed argument the command-line parser could not catch.
struct UsageError : ToolError {
  using ToolError::ToolError;
};

// --- librdkafka ownership -------------------------------------------------

template <typename T, void (*Destroy)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p) Destroy(p);
  }
};
template <typename T, void (*Destroy)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Destroy>>;

using Client = Owned<rd_kafka_t, rd_kafka_destroy>;
using Queue = Owned<rd_kafka_queue_t, rd_kafka_queue_destroy>;
using Event = Owned<rd_kafka_event_t, rd_kafka_event_destroy>;
using Options = Owned<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>;
using PartitionList = Owned<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>;

// --- JSON for librdkafka values -------------------------------------------

json error_json(rd_kafka_resp_err_t code, const char* message) {
  if (code == RD_KAFKA_RESP_ERR_NO_ERROR) return nullptr;
  return {{"code", static_cast<int>(code)},
          {"name", rd_kafka_err2name(code)},
          {"message", message ? message : rd_kafka_err2str(code)}};
}

json error_json(const rd_kafka_error_t* error) {
  if (!error) return nullptr;
  return error_json(rd_kafka_error_code(error), rd_kafka_error_string(error));
}

json partitions_json(const rd_kafka_topic_partition_list_t* list, bool with_offsets) {
  json out = json::array();
  for (int i = 0; list && i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    json p = {{"topic", tp.topic}, {"partition", tp.partition}};
    if (with_offsets) {
      p["offset"] = tp.offset;
      p["metadata"] = tp.metadata
                          ? std::string(static_cast<const char*>(tp.metadata), tp.metadata_size)
                          : std::string();
    }
    p["error"] = error_json(tp.err, nullptr);
    out.push_back(std::move(p));
  }
  return out;
}

json group_results_json(const rd_kafka_group_result_t** results, size_t count, bool with_offsets) {
  json out = json::array();
  for (size_t i = 0; i < count; ++i) {
    json g = {{"group", rd_kafka_group_result_name(results[i])},
              {"error", error_json(rd_kafka_group_result_error(results[i]))}};
    if (const auto* parts = rd_kafka_group_result_partitions(results[i]))
      g["partitions"] = partitions_json(parts, with_offsets);
    out.push_back(std::move(g));
  }
  return out;
}

// --- Argument parsing -----------------------------------------------------

// "topic:p" (the partition after the last colon) or, with want_offset,
// "topic:p=offset". Throws ToolError.
struct PartitionArg {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = RD_KAFKA_OFFSET_INVALID;
};

template <typename Int>
Int parse_int(std::string_view text, const std::string& whole) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw UsageError("bad number '" + std::string(text) + "' in '" + whole + "'");
  return value;
}

PartitionArg parse_partition(const std::string& arg, bool want_offset) {
  std::string_view rest = arg;
  PartitionArg out;
  if (want_offset) {
    const auto eq = rest.rfind('=');
    if (eq == std::string_view::npos)
      throw UsageError("expected topic:p=offset, got '" + arg + "'");
    out.offset = parse_int<int64_t>(rest.substr(eq + 1), arg);
    rest = rest.substr(0, eq);
  }
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw UsageError("expected topic:partition, got '" + arg + "'");
  out.topic = std::string(rest.substr(0, colon));
  out.partition = parse_int<int32_t>(rest.substr(colon + 1), arg);
  return out;
}

PartitionList partition_list(const std::vector<std::string>& args, bool want_offset) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(args.size())));
  for (const auto& arg : args) {
    const PartitionArg p = parse_partition(arg, want_offset);
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset = p.offset;
  }
  return list;
}

// --- Running one admin call -----------------------------------------------

class Admin {
 public:
  Admin(const std::string& bootstrap, int timeout_ms) : timeout_ms_(timeout_ms) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw ToolError(errstr);
    }
    rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr));
    if (!rk_) {
      rd_kafka_conf_destroy(conf);  // rd_kafka_new keeps conf only on success
      throw ToolError(std::string("rd_kafka_new: ") + errstr);
    }
    queue_.reset(rd_kafka_queue_new(rk_.get()));
  }

  rd_kafka_t* rk() const { return rk_.get(); }
  rd_kafka_queue_t* queue() const { return queue_.get(); }

  // AdminOptions for `op` with the request timeout set.
  Options options(rd_kafka_admin_op_t op) const {
    Options o(rd_kafka_AdminOptions_new(rk_.get(), op));
    char errstr[512];
    if (rd_kafka_AdminOptions_set_request_timeout(o.get(), timeout_ms_, errstr, sizeof errstr))
      throw ToolError(errstr);
    return o;
  }

  // Waits for the result event of the call just made. The request timeout
  // bounds librdkafka; the extra margin here only guards against a result
  // that never comes.
  Event wait(rd_kafka_event_type_t type) const {
    Event ev(rd_kafka_queue_poll(queue_.get(), timeout_ms_ + 5000));
    if (!ev)
      throw ToolError("no admin result within " + std::to_string(timeout_ms_ + 5000) + " ms");
    if (rd_kafka_event_type(ev.get()) != type)
      throw ToolError(std::string("unexpected event ") + rd_kafka_event_name(ev.get()));
    return ev;
  }

 private:
  int timeout_ms_;
  Client rk_;
  Queue queue_;
};

// The whole request's error. librdkafka's own (negative) codes mean the
// client could not get an answer: a client-level failure. Kafka's codes are
// the broker's answer and go into the JSON.
json request_error(rd_kafka_event_t* ev) {
  const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
  if (err < 0)
    throw ToolError(std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_event_error_string(ev));
  return error_json(err, err ? rd_kafka_event_error_string(ev) : nullptr);
}

std::vector<const char*> c_strings(const std::vector<std::string>& v) {
  std::vector<const char*> out;
  for (const auto& s : v) out.push_back(s.c_str());
  return out;
}

// --- Subcommands ----------------------------------------------------------

json list_groups(Admin& admin, const std::vector<std::string>& states) {
  Options opts = admin.options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
  if (!states.empty()) {
    std::vector<rd_kafka_consumer_group_state_t> codes;
    for (const auto& s : states) {
      const auto code = rd_kafka_consumer_group_state_code(s.c_str());
      if (code == RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN)
        throw UsageError("unknown state '" + s + "'");
      codes.push_back(code);
    }
    if (rd_kafka_error_t* e = rd_kafka_AdminOptions_set_match_consumer_group_states(
            opts.get(), codes.data(), codes.size())) {
      const std::string msg = rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      throw ToolError(msg);
    }
  }
  rd_kafka_ListConsumerGroups(admin.rk(), opts.get(), admin.queue());
  Event ev = admin.wait(RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT);
  json out = {
      {"error", request_error(ev.get())}, {"groups", json::array()}, {"errors", json::array()}};
  const auto* result = rd_kafka_event_ListConsumerGroups_result(ev.get());
  size_t n = 0;
  const auto** groups = rd_kafka_ListConsumerGroups_result_valid(result, &n);
  for (size_t i = 0; i < n; ++i) {
    out["groups"].push_back(
        {{"group", rd_kafka_ConsumerGroupListing_group_id(groups[i])},
         {"state",
          rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(groups[i]))},
         {"is_simple_consumer_group",
          rd_kafka_ConsumerGroupListing_is_simple_consumer_group(groups[i]) != 0}});
  }
  // One error per broker that could not be listed: librdkafka's own (no
  // answer) fail the call, Kafka's are the broker's answer.
  const auto** errors = rd_kafka_ListConsumerGroups_result_errors(result, &n);
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_error_code(errors[i]) < 0) throw ToolError(rd_kafka_error_string(errors[i]));
    out["errors"].push_back(error_json(errors[i]));
  }
  return out;
}

json describe_groups(Admin& admin, const std::vector<std::string>& group_ids) {
  Options opts = admin.options(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
  auto names = c_strings(group_ids);
  rd_kafka_DescribeConsumerGroups(admin.rk(), names.data(), names.size(), opts.get(),
                                  admin.queue());
  Event ev = admin.wait(RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT);
  json out = {{"error", request_error(ev.get())}, {"groups", json::array()}};
  size_t n = 0;
  const auto** groups = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const auto* g = groups[i];
    const char* assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(g);
    const rd_kafka_Node_t* coordinator = rd_kafka_ConsumerGroupDescription_coordinator(g);
    json members = json::array();
    for (size_t m = 0; m < rd_kafka_ConsumerGroupDescription_member_count(g); ++m) {
      const auto* member = rd_kafka_ConsumerGroupDescription_member(g, m);
      const char* instance = rd_kafka_MemberDescription_group_instance_id(member);
      const auto* assignment = rd_kafka_MemberDescription_assignment(member);
      members.push_back(
          {{"member_id", rd_kafka_MemberDescription_consumer_id(member)},
           {"client_id", rd_kafka_MemberDescription_client_id(member)},
           {"host", rd_kafka_MemberDescription_host(member)},
           {"group_instance_id", instance ? json(instance) : json(nullptr)},
           {"assignment",
            partitions_json(assignment ? rd_kafka_MemberAssignment_partitions(assignment) : nullptr,
                            false)}});
    }
    out["groups"].push_back(
        {{"group", rd_kafka_ConsumerGroupDescription_group_id(g)},
         {"error", error_json(rd_kafka_ConsumerGroupDescription_error(g))},
         {"state", rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(g))},
         {"is_simple_consumer_group",
          rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(g) != 0},
         {"partition_assignor", assignor ? json(assignor) : json(nullptr)},
         {"coordinator", coordinator ? json(rd_kafka_Node_id(coordinator)) : json(nullptr)},
         {"members", std::move(members)}});
  }
  return out;
}

json delete_groups(Admin& admin, const std::vector<std::string>& group_ids) {
  Options opts = admin.options(RD_KAFKA_ADMIN_OP_DELETEGROUPS);
  std::vector<rd_kafka_DeleteGroup_t*> del;
  for (const auto& g : group_ids) del.push_back(rd_kafka_DeleteGroup_new(g.c_str()));
  rd_kafka_DeleteGroups(admin.rk(), del.data(), del.size(), opts.get(), admin.queue());
  rd_kafka_DeleteGroup_destroy_array(del.data(), del.size());
  Event ev = admin.wait(RD_KAFKA_EVENT_DELETEGROUPS_RESULT);
  json out = {{"error", request_error(ev.get())}};
  size_t n = 0;
  const auto** results =
      rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
  out["groups"] = group_results_json(results, n, false);
  return out;
}

// `list` null: every partition the group has an offset for.
json list_offsets(Admin& admin, const std::string& group, const PartitionList& list) {
  Options opts = admin.options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
  rd_kafka_ListConsumerGroupOffsets_t* req =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), list.get());
  rd_kafka_ListConsumerGroupOffsets(admin.rk(), &req, 1, opts.get(), admin.queue());
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  Event ev = admin.wait(RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT);
  json out = {{"error", request_error(ev.get())}};
  size_t n = 0;
  const auto** results = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
  out["groups"] = group_results_json(results, n, true);
  return out;
}

json alter_offsets(Admin& admin, const std::string& group, const PartitionList& list) {
  Options opts = admin.options(RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
  rd_kafka_AlterConsumerGroupOffsets_t* req =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
  rd_kafka_AlterConsumerGroupOffsets(admin.rk(), &req, 1, opts.get(), admin.queue());
  rd_kafka_AlterConsumerGroupOffsets_destroy(req);
  Event ev = admin.wait(RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT);
  json out = {{"error", request_error(ev.get())}};
  size_t n = 0;
  const auto** results = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
  out["groups"] = group_results_json(results, n, true);
  return out;
}

json delete_offsets(Admin& admin, const std::string& group, const PartitionList& list) {
  Options opts = admin.options(RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS);
  rd_kafka_DeleteConsumerGroupOffsets_t* req =
      rd_kafka_DeleteConsumerGroupOffsets_new(group.c_str(), list.get());
  rd_kafka_DeleteConsumerGroupOffsets(admin.rk(), &req, 1, opts.get(), admin.queue());
  rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
  Event ev = admin.wait(RD_KAFKA_EVENT_DELETECONSUMERGROUPOFFSETS_RESULT);
  json out = {{"error", request_error(ev.get())}};
  size_t n = 0;
  const auto** results = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
      rd_kafka_event_DeleteConsumerGroupOffsets_result(ev.get()), &n);
  out["groups"] = group_results_json(results, n, false);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"librdkafka's consumer-group admin API, printed as JSON"};
  app.require_subcommand(1);
  std::string bootstrap;
  int timeout_ms = 10000;
  std::string group;
  std::vector<std::string> groups, states, parts;

  auto common = [&](CLI::App* sub) {
    sub->add_option("--bootstrap,-b", bootstrap, "bootstrap.servers")->required();
    sub->add_option("--timeout-ms", timeout_ms, "request timeout of the admin call")
        ->check(CLI::Range(1, 600000));
  };
  auto* list = app.add_subcommand("list", "ListConsumerGroups");
  common(list);
  list->add_option("--state", states, "only groups in this state (repeatable)");
  auto* describe = app.add_subcommand("describe", "DescribeConsumerGroups");
  common(describe);
  describe->add_option("groups", groups, "group ids")->required();
  auto* del = app.add_subcommand("delete", "DeleteGroups");
  common(del);
  del->add_option("groups", groups, "group ids")->required();
  auto* list_off = app.add_subcommand("list-offsets", "ListConsumerGroupOffsets");
  common(list_off);
  list_off->add_option("group", group, "group id")->required();
  list_off->add_option("--partition", parts, "topic:partition (repeatable; default: all)");
  auto* alter_off = app.add_subcommand("alter-offsets", "AlterConsumerGroupOffsets");
  common(alter_off);
  alter_off->add_option("group", group, "group id")->required();
  alter_off->add_option("offsets", parts, "topic:partition=offset")->required();
  auto* del_off = app.add_subcommand("delete-offsets", "DeleteConsumerGroupOffsets");
  common(del_off);
  del_off->add_option("group", group, "group id")->required();
  del_off->add_option("partitions", parts, "topic:partition")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  try {
    // Arguments first, so a typo costs no connection.
    const PartitionList partitions =
        parts.empty() ? PartitionList() : partition_list(parts, alter_off->parsed());
    Admin admin(bootstrap, timeout_ms);
    json out;
    if (list->parsed())
      out = list_groups(admin, states);
    else if (describe->parsed())
      out = describe_groups(admin, groups);
    else if (del->parsed())
      out = delete_groups(admin, groups);
    else if (list_off->parsed())
      out = list_offsets(admin, group, partitions);
    else if (alter_off->parsed())
      out = alter_offsets(admin, group, partitions);
    else
      out = delete_offsets(admin, group, partitions);
    std::cout << out.dump(2) << std::endl;
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "usage error: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitFailure;
  }
}
