#include "actors/secret_columns.hpp"

#include "actors/audit.hpp"
#include "actors/sql.hpp"
#include "core/secret_box.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace al {

namespace {

/// The columns, with the name each value is sealed under (its AAD).
constexpr const char* secret_column_names[]
  = {"twilio_auth_token", "paypal_secret", "webhook_secret"};
constexpr int secret_column_count = 3;

constexpr sql_statement select_secrets{
  "SELECT id, twilio_auth_token, paypal_secret, webhook_secret FROM businesses"
  " WHERE twilio_auth_token IS NOT NULL OR paypal_secret IS NOT NULL"
  " OR webhook_secret IS NOT NULL"
  " ORDER BY id FOR UPDATE"};

constexpr sql_statement update_twilio_secret{
  "UPDATE businesses SET twilio_auth_token = $2 WHERE id = $1"};

constexpr sql_statement update_paypal_secret{
  "UPDATE businesses SET paypal_secret = $2 WHERE id = $1"};

constexpr sql_statement update_webhook_secret{
  "UPDATE businesses SET webhook_secret = $2 WHERE id = $1"};

/// The update of secret column i (1-based, as in select_secrets).
const sql_statement& secret_update(int i) {
  return i == 1   ? update_twilio_secret
         : i == 2 ? update_paypal_secret
                  : update_webhook_secret;
}

} // namespace

std::string secret_or_empty(const pqxx::field& f, std::string_view column) {
  if (f.is_null())
    return {};
  std::string_view stored{f.c_str(), f.size()};
  if (auto v = secrets::reveal(stored, column))
    return std::move(*v);
  try {
    spdlog::error("cannot decrypt {} (key id {}): is SECRET_KEY or"
                  " SECRET_KEYS_PREVIOUS missing a key?",
                  column, secrets::key_id_of(stored).value_or("?"));
  } catch (...) {
  }
  return {};
}

secrets_census count_secrets(db_tx& tx) {
  secrets_census c;
  for (auto row : exec(tx, select_secrets))
    for (int i = 1; i <= secret_column_count; ++i) {
      if (row[i].is_null())
        continue;
      auto id = secrets::key_id_of(row[i].c_str());
      if (id)
        ++c.by_key[*id];
      else
        ++c.clear;
    }
  return c;
}

std::int64_t seal_secrets(db_tx& tx, bool rotate, std::int64_t& unreadable) {
  auto ring = secrets::active();
  unreadable = 0;
  if (!ring || !ring->has_key())
    return 0;
  std::int64_t rewritten = 0;
  for (auto row : exec(tx, select_secrets)) {
    auto id = row[0].as<std::int64_t>();
    for (int i = 1; i <= secret_column_count; ++i) {
      if (row[i].is_null())
        continue;
      std::string_view stored{row[i].c_str(), row[i].size()};
      auto column = secret_column_names[i - 1];
      auto kid = secrets::key_id_of(stored);
      if (kid && (!rotate || *kid == ring->current_id()))
        continue; // already sealed (under the current key)
      auto opened = ring->open(stored, column);
      if (opened.status != secrets::open_status::ok
          && opened.status != secrets::open_status::plaintext) {
        ++unreadable;
        continue;
      }
      exec(tx, secret_update(i), id, ring->seal(opened.value, column));
      ++rewritten;
    }
  }
  return rewritten;
}

std::string prepare_secrets(const std::string& url, bool rotate,
                            std::string& report) {
  try {
    pqxx::connection conn{with_timeouts(url)};
    pqxx::work tx{conn};
    auto ring = secrets::active();
    bool keyed = ring && ring->has_key();
    auto census = count_secrets(tx);
    std::string unknown;
    for (auto& [id, n] : census.by_key)
      if (!keyed || !ring->knows(id))
        unknown += (unknown.empty() ? "" : ", ") + id;
    if (!unknown.empty())
      return keyed ? "tenant secrets are encrypted under key id(s) " + unknown
                       + " that neither SECRET_KEY nor SECRET_KEYS_PREVIOUS"
                         " provides"
                   : "the database holds encrypted tenant secrets (key id(s) "
                       + unknown + ") and SECRET_KEY is not set";
    if (!keyed) {
      report = census.clear > 0
                 ? std::to_string(census.clear)
                     + " tenant secret(s) stored in clear: set SECRET_KEY to"
                       " encrypt them"
                 : "";
      return {};
    }
    std::int64_t unreadable = 0;
    auto n = seal_secrets(tx, rotate, unreadable);
    if (unreadable > 0)
      return std::to_string(unreadable)
             + " tenant secret(s) fail authentication (tampered or corrupt);"
               " set them again through the admin API";
    if (rotate && n > 0) {
      audit_who cli;
      cli.actor = "cli";
      record_audit(tx, cli,
                   audit_entry{std::nullopt, "secrets.rotate", "key",
                               ring->current_id(),
                               boost::json::object{{"rewritten", n}}});
    }
    tx.commit();
    report = n > 0 ? "sealed " + std::to_string(n)
                       + " tenant secret(s) under key " + ring->current_id()
                   : "";
    return {};
  } catch (const std::exception& e) {
    return std::string{"tenant secrets: "} + e.what();
  }
}

} // namespace al
