// exchange-sim: the reference implementation of the city exchange's side of protocol v1.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <clocale>
#include <iostream>

#include "tools/exchange-sim/publish.h"
#include "tools/exchange-sim/receipts.h"
#include "tools/exchange-sim/server.h"

namespace {

using namespace fep::sim;

int fail_with(const std::string& message) {
  std::cerr << "exchange-sim: error: " << message << "\n";
  return 1;
}

// Copies an option's value into `out` when it was given on the command line.
template <class T>
void if_given(const CLI::Option* opt, const T& value, std::optional<T>& out) {
  if (opt->count() > 0) out = value;
}

int run_subscribe(const fs::path& root, const Subscription& given, const CLI::App& cmd) {
  Store store(root);
  auto subs = store.subscriptions();
  if (!subs) return fail_with(subs.error().message);
  auto it = std::find_if(subs->begin(), subs->end(),
                         [&](const Subscription& s) { return s.resource_id == given.resource_id; });
  if (it == subs->end()) {
    Subscription s = given;
    if (s.name.empty()) s.name = s.resource_id;
    subs->push_back(s);
  } else {
    for (auto [flag, field, value] : {std::tuple{"--name", &it->name, &given.name},
                                      {"--kind", &it->kind, &given.kind},
                                      {"--provider", &it->provider, &given.provider},
                                      {"--share-type", &it->share_type, &given.share_type},
                                      {"--status", &it->status, &given.status}})
      if (cmd.count(flag) > 0) *field = *value;
  }
  if (auto st = store.save_subscriptions(*subs); !st) return fail_with(st.error().message);
  return 0;
}

// A member of a stored receipt as printed: a string as is, another value as JSON, "?" when absent.
// Receipt files are read back unchecked, so a member may have any type.
std::string field_text(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return "?";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int run_receipts(const fs::path& root, bool as_json) {
  auto all = read_receipts(Store(root));
  if (!all) return fail_with(all.error().message);
  for (const auto& r : *all) {
    if (as_json) {
      std::cout << r.dump() << "\n";
      continue;
    }
    std::cout << field_text(r, "batch_id") << " " << field_text(r, "resource_id")
              << " seq=" << r.value("seq", nlohmann::json()).dump() << " "
              << field_text(r, "status");
    if (r.contains("counts") && r["counts"].is_object())
      for (const char* key : {"rows", "files", "deleted", "bytes"})
        if (r["counts"].contains(key)) std::cout << " " << key << "=" << r["counts"][key].dump();
    if (r.contains("error") && r["error"].is_object())
      std::cout << " error=" << field_text(r["error"], "code");
    std::cout << "\n";
  }
  return 0;
}

void add_batch_options(CLI::App* cmd, BatchOptions& b, std::string& batch_id, std::int64_t& seq,
                       std::string& created_at) {
  cmd->add_option("--resource", b.resource_id, "Resource id")->required();
  cmd->add_option("--mode", b.mode, "full or incremental")
      ->required()
      ->check(CLI::IsMember({"full", "incremental"}));
  cmd->add_option("--batch-id", batch_id, "Batch id (default B-<yyyymmdd>-<seq>)");
  cmd->add_option("--seq", seq, "Seq (default: the last seq + 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--created-at", created_at, "created_at as published (default: now)");
}

// --sign-key, --key-id, --sign-alg: shared by both publish commands.
struct SignInputs {
  fs::path key;
  std::string key_id;
  std::string alg;
};

void add_sign_options(CLI::App* cmd, SignInputs& s) {
  auto* key = cmd->add_option("--sign-key", s.key,
                              "PEM private key (ed25519 or sm2): sign the manifest, writing "
                              "signature.json beside it")
                  ->check(CLI::ExistingFile);
  auto* id = cmd->add_option("--key-id", s.key_id, "The signature's key_id (with --sign-key)");
  auto* alg = cmd->add_option("--sign-alg", s.alg, "ed25519 or sm2 (default: the key's type)")
                  ->check(CLI::IsMember({"ed25519", "sm2"}));
  key->needs(id);
  id->needs(key);
  alg->needs(key);
}

std::optional<SignOptions> sign_options(const CLI::App& cmd, const SignInputs& s) {
  if (cmd.count("--sign-key") == 0) return std::nullopt;
  SignOptions out{s.key, s.key_id, std::nullopt};
  if (cmd.count("--sign-alg") > 0) out.alg = s.alg;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::setlocale(LC_CTYPE, "C.UTF-8");  // libarchive converts entry names through the locale
  spdlog::set_default_logger(spdlog::stderr_color_mt("exchange-sim"));

  CLI::App app{"exchange-sim: the reference city exchange (protocol v1)"};
  app.require_subcommand(1);
  fs::path root;

  auto* serve_cmd = app.add_subcommand("serve", "Serve the protocol over HTTP");
  ServeOptions serve_opts;
  std::string listen = "127.0.0.1:0";
  std::string node;
  serve_cmd->add_option("--root", root, "Exchange root directory")->required();
  serve_cmd->add_option("--listen", listen, "HOST:PORT (port 0: any free port)");
  serve_cmd->add_option("--token-file", serve_opts.token_file, "File holding the node token")
      ->required();
  auto* node_opt = serve_cmd->add_option("--node", node, "Serve only this node id");
  fs::path tls_cert, tls_key, client_ca;
  auto* tls_cert_opt =
      serve_cmd->add_option("--tls-cert", tls_cert, "Serve HTTPS with this PEM certificate chain")
          ->check(CLI::ExistingFile);
  auto* tls_key_opt = serve_cmd->add_option("--tls-key", tls_key, "The certificate's PEM key")
                          ->check(CLI::ExistingFile);
  auto* client_ca_opt =
      serve_cmd
          ->add_option("--client-ca", client_ca,
                       "Require a client certificate issued by these CAs (PEM); needs --tls-cert")
          ->check(CLI::ExistingFile);
  tls_cert_opt->needs(tls_key_opt);
  tls_key_opt->needs(tls_cert_opt);
  client_ca_opt->needs(tls_cert_opt);
  fs::path faults_file;
  serve_cmd
      ->add_option("--faults", faults_file,
                   "Fault plan (JSON): injected errors, resets, short bodies, drips, ignored "
                   "ranges, duplicate listings, lost receipt answers, corrupted payloads, "
                   "forbidden resources")
      ->check(CLI::ExistingFile);
  serve_cmd->footer(
      "Fault plan (--faults FILE), every member optional:\n"
      "  {\"seed\": 7,\n"
      "   \"rates\": {\"error_500\": 0.2, \"error_429\": 0.1, \"reset_payload\": 0.1,\n"
      "             \"short_body\": 0.1, \"slow_drip\": 0.05, \"ignore_range\": 0.2,\n"
      "             \"duplicate_listing\": 0.1, \"lose_receipt_answer\": 0.2},\n"
      "   \"first\": {\"reset_payload\": 1},\n"
      "   \"corrupt_batches\": [\"B-20261120-0002\"],\n"
      "   \"forbidden_resources\": [\"R-SCJG-0001\"],\n"
      "   \"receipt_status\": {\"B-20261120-0003\": 422},\n"
      "   \"max_page\": 2, \"drip_pieces\": 16, \"drip_pause_ms\": 25}\n"
      "Each request (numbered in arrival order) draws each rate from a hash of (seed, number,\n"
      "fault): the same seed and request order give the same faults.\n"
      "  error_500, error_429    any route answers 500, or 429 with Retry-After: 1\n"
      "  reset_payload           payload: TCP reset half-way through the body\n"
      "  short_body              payload, manifest, listing, subscriptions: the connection\n"
      "                          closes half-way, short of Content-Length\n"
      "  slow_drip               payload: drip_pieces pieces, drip_pause_ms apart\n"
      "  ignore_range            payload asked with Range: 200 and the whole body\n"
      "  duplicate_listing       listing: the batch at seq == after opens the page again (an\n"
      "                          inclusive `after`), or a first page lists its last batch twice\n"
      "  lose_receipt_answer     receipt stored and logged, connection closed unanswered\n"
      "  corrupt_batches         these batches' payload bytes never match their manifest\n"
      "  forbidden_resources     these resources' listing, manifest, signature and payload\n"
      "                          requests answer 403 FORBIDDEN (a node refused the resource)\n"
      "  receipt_status          receipts for these batches answer this status (400-599) with\n"
      "                          an error body and are not stored\n"
      "  max_page                listing pages hold at most this many batches (0: no cap)\n"
      "  first                   per fault: the first N requests it could hit get it, whatever\n"
      "                          the rate (one fault at a known moment, for tests)\n"
      "Every request and the faults it got go to ROOT/faults.log (JSON lines).");

  auto* sub_cmd = app.add_subcommand("subscribe", "Create or update a subscription");
  Subscription sub;
  sub_cmd->add_option("--root", root, "Exchange root directory")->required();
  sub_cmd->add_option("--resource", sub.resource_id)->required();
  sub_cmd->add_option("--name", sub.name);
  sub_cmd->add_option("--kind", sub.kind)->check(CLI::IsMember({"table", "folder", "interface"}));
  sub_cmd->add_option("--provider", sub.provider);
  sub_cmd->add_option("--share-type", sub.share_type)
      ->check(CLI::IsMember({"unconditional", "conditional"}));
  sub_cmd->add_option("--status", sub.status)
      ->check(CLI::IsMember({"approved", "pending", "rejected", "revoked"}));

  auto* pub_cmd = app.add_subcommand("publish", "Publish the next batch of a resource");
  pub_cmd->require_subcommand(1);
  std::string batch_id, created_at, compression;
  std::int64_t seq = 0;
  SignInputs sign;

  auto* table_cmd = pub_cmd->add_subcommand("table", "Publish a table batch (CSV)");
  TableOptions table;
  fs::path csv, table_payload;
  std::int64_t row_count = 0;
  table_cmd->add_option("--root", root, "Exchange root directory")->required();
  add_batch_options(table_cmd, table.batch, batch_id, seq, created_at);
  add_sign_options(table_cmd, sign);
  table_cmd->add_option("--schema", table.schema, "The manifest's table object (JSON)")->required();
  auto* csv_opt = table_cmd->add_option("--csv", csv, "CSV file, compressed by the sim");
  auto* tpay_opt = table_cmd->add_option("--payload", table_payload, "Payload taken as is");
  csv_opt->excludes(tpay_opt);
  auto* tcomp_opt = table_cmd->add_option("--compression", compression)
                        ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  table_cmd->add_option("--encoding", table.encoding)->check(CLI::IsMember({"UTF-8", "GB18030"}));
  auto* rows_opt = table_cmd->add_option("--row-count", row_count, "row_count (default: counted)");

  auto* folder_cmd = pub_cmd->add_subcommand("folder", "Publish a folder batch (tar or zip)");
  FolderOptions folder;
  fs::path dir, folder_payload;
  std::uint64_t files = 0, bytes = 0;
  folder_cmd->add_option("--root", root, "Exchange root directory")->required();
  add_batch_options(folder_cmd, folder.batch, batch_id, seq, created_at);
  add_sign_options(folder_cmd, sign);
  auto* dir_opt = folder_cmd->add_option("--dir", dir, "Folder to archive");
  auto* fpay_opt = folder_cmd->add_option("--payload", folder_payload, "Archive taken as is");
  dir_opt->excludes(fpay_opt);
  folder_cmd->add_option("--format", folder.format)->check(CLI::IsMember({"tar", "zip"}));
  auto* fcomp_opt = folder_cmd->add_option("--compression", compression)
                        ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  folder_cmd->add_option("--delete", folder.deletes, "Relative path to delete (incremental)");
  auto* files_opt = folder_cmd->add_option("--files", files, "folder.files (default: counted)");
  auto* bytes_opt = folder_cmd->add_option("--bytes", bytes, "folder.bytes (default: counted)");

  auto* rec_cmd = app.add_subcommand("receipts", "Print the accepted receipts");
  bool as_json = false;
  rec_cmd->add_option("--root", root, "Exchange root directory")->required();
  rec_cmd->add_flag("--json", as_json, "One JSON receipt per line");

  CLI11_PARSE(app, argc, argv);

  if (*serve_cmd) {
    auto colon = listen.rfind(':');
    int port = -1;
    try {
      if (colon != std::string::npos) port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (port < 0 || port > 65535) return fail_with("--listen is HOST:PORT");
    serve_opts.root = root;
    serve_opts.host = listen.substr(0, colon);
    serve_opts.port = port;
    if (node_opt->count() > 0) serve_opts.node = node;
    if (tls_cert_opt->count() > 0) serve_opts.tls_cert = tls_cert;
    if (tls_key_opt->count() > 0) serve_opts.tls_key = tls_key;
    if (client_ca_opt->count() > 0) serve_opts.client_ca = client_ca;
    if (faults_file.empty()) return serve(serve_opts);
    auto plan = FaultPlan::load(faults_file, root / "faults.log");
    if (!plan) return fail_with(plan.error().message);
    return serve(serve_opts, std::move(plan).value());
  }
  if (*sub_cmd) return run_subscribe(root, sub, *sub_cmd);
  if (*rec_cmd) return run_receipts(root, as_json);

  Store store(root);
  fep::Expected<std::string> published = std::string();
  const bool is_table = table_cmd->parsed();
  BatchOptions& b = is_table ? table.batch : folder.batch;
  CLI::App* cmd = is_table ? table_cmd : folder_cmd;
  if (cmd->count("--batch-id") > 0) b.batch_id = batch_id;
  if (cmd->count("--seq") > 0) b.seq = seq;
  if (cmd->count("--created-at") > 0) b.created_at = created_at;
  b.sign = sign_options(*cmd, sign);
  if (is_table) {
    if (*csv_opt) table.csv = csv;
    if (*tpay_opt) table.payload = table_payload;
    if_given(tcomp_opt, compression, table.compression);
    if_given(rows_opt, row_count, table.row_count);
    published = publish_table(store, table);
  } else {
    if (*dir_opt) folder.dir = dir;
    if (*fpay_opt) folder.payload = folder_payload;
    if_given(fcomp_opt, compression, folder.compression);
    if_given(files_opt, files, folder.files);
    if_given(bytes_opt, bytes, folder.bytes);
    published = publish_folder(store, folder);
  }
  if (!published) return fail_with(published.error().message);
  std::cout << *published << std::endl;
  return 0;
}
