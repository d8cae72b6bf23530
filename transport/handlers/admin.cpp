// /api/admin/*: businesses, API tokens, supervisors (ADMIN_TOKEN only).
#include "transport/handlers/handlers.hpp"

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/phone.hpp"
#include "transport/auth.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <optional>

namespace al {

namespace {

namespace json = boost::json;

/// A validated business create/patch body. Unset optionals = not given.
struct business_input {
  std::optional<std::string> name, greeting, prompt, voice_engine;
  std::optional<std::string> twilio_sid, twilio_token;
  std::optional<std::string> wa_from, wa_provider, after_hours_reply;
  std::optional<bool> payments_enabled;
  std::optional<std::string> payments_provider, paypal_id, paypal_secret,
    tranzila_terminal;
  std::optional<std::string> working_hours; // JSON text
  std::optional<std::int64_t> max_live_calls;
  std::optional<std::vector<std::string>> phone_numbers; // E.164
};

bool valid_hhmm(std::string_view s) {
  return s.size() == 5 && std::isdigit(static_cast<unsigned char>(s[0]))
         && std::isdigit(static_cast<unsigned char>(s[1])) && s[2] == ':'
         && std::isdigit(static_cast<unsigned char>(s[3]))
         && std::isdigit(static_cast<unsigned char>(s[4]))
         && (s[0] - '0') * 10 + (s[1] - '0') < 24
         && (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

/// Reads an optional string field; false (with `err`) on a wrong type.
bool opt_string(simdjson::dom::object o, std::string_view key,
                std::optional<std::string>& out, std::string& err,
                std::size_t max = 4000) {
  auto f = get_string(o, key);
  if (f.state == field_state::wrong_type || (f.ok() && f.value.size() > max)) {
    err = std::string{key} + " must be a string of at most "
          + std::to_string(max) + " bytes";
    return false;
  }
  if (f.ok())
    out = std::string{f.value};
  return true;
}

/// Parses and validates; returns an error message or empty.
std::string parse_business(simdjson::dom::object o, business_input& in,
                           bool create) {
  std::string err;
  if (!opt_string(o, "name", in.name, err, 200)
      || !opt_string(o, "greeting", in.greeting, err)
      || !opt_string(o, "prompt", in.prompt, err, 20000)
      || !opt_string(o, "voice_engine", in.voice_engine, err, 20)
      || !opt_string(o, "after_hours_reply", in.after_hours_reply, err))
    return err;
  if (create && (!in.name || in.name->empty()))
    return "name is required";
  if (in.name && in.name->empty())
    return "name must not be empty";
  if (in.voice_engine && *in.voice_engine != "local"
      && *in.voice_engine != "openai")
    return "voice_engine must be local or openai";
  if (auto f = get_array(o, "phone_numbers"); f.present()) {
    if (!f.ok())
      return "phone_numbers must be an array of strings";
    std::vector<std::string> numbers;
    for (auto el : f.value) {
      std::string_view s;
      if (el.get(s) != simdjson::SUCCESS)
        return "phone_numbers must be an array of strings";
      auto n = normalize_phone(s);
      if (!n)
        return "invalid phone number: " + std::string{s.substr(0, 40)};
      numbers.push_back(*n);
    }
    in.phone_numbers = std::move(numbers);
  }
  if (auto f = get_object(o, "twilio"); f.present()) {
    if (!f.ok())
      return "twilio must be an object";
    if (!opt_string(f.value, "account_sid", in.twilio_sid, err, 64)
        || !opt_string(f.value, "auth_token", in.twilio_token, err, 128))
      return err;
  }
  if (auto f = get_object(o, "whatsapp"); f.present()) {
    if (!f.ok())
      return "whatsapp must be an object";
    if (!opt_string(f.value, "from", in.wa_from, err, 64)
        || !opt_string(f.value, "provider", in.wa_provider, err, 16))
      return err;
    if (in.wa_provider && *in.wa_provider != "twilio"
        && *in.wa_provider != "meta")
      return "whatsapp.provider must be twilio or meta";
  }
  if (auto f = get_object(o, "payments"); f.present()) {
    if (!f.ok())
      return "payments must be an object";
    auto enabled = get_bool(f.value, "enabled");
    if (enabled.state == field_state::wrong_type)
      return "payments.enabled must be a boolean";
    if (enabled.ok())
      in.payments_enabled = enabled.value;
    if (!opt_string(f.value, "default_provider", in.payments_provider, err, 16)
        || !opt_string(f.value, "paypal_client_id", in.paypal_id, err, 256)
        || !opt_string(f.value, "paypal_secret", in.paypal_secret, err, 256)
        || !opt_string(f.value, "tranzila_terminal", in.tranzila_terminal, err,
                       64))
      return err;
    if (in.payments_provider && *in.payments_provider != "paypal"
        && *in.payments_provider != "tranzila")
      return "payments.default_provider must be paypal or tranzila";
  }
  if (auto f = get_object(o, "working_hours"); f.present()) {
    if (!f.ok())
      return "working_hours must be an object";
    static const std::set<std::string_view> days{"sun", "mon", "tue", "wed",
                                                 "thu", "fri", "sat"};
    for (auto [k, v] : f.value) {
      if (!days.count(k))
        return "working_hours keys are sun..sat";
      simdjson::dom::array a;
      std::string_view from, to;
      if (v.get(a) != simdjson::SUCCESS || a.size() != 2
          || a.at(0).get(from) != simdjson::SUCCESS
          || a.at(1).get(to) != simdjson::SUCCESS || !valid_hhmm(from)
          || !valid_hhmm(to))
        return "working_hours values are [\"HH:MM\",\"HH:MM\"]";
    }
    in.working_hours = simdjson::minify(f.value);
  }
  if (auto f = get_int(o, "max_live_calls"); f.present()) {
    if (!f.ok() || f.value < 0)
      return "max_live_calls must be a non-negative integer";
    in.max_live_calls = f.value;
  }
  return {};
}

/// The public view of a business (no secrets, only whether they are set).
json::object business_view(db_tx& tx, std::int64_t id) {
  auto r = tx.exec_params(
    "SELECT id, name, coalesce(greeting,''), coalesce(prompt,''), voice_engine,"
    " twilio_account_sid, twilio_auth_token IS NOT NULL,"
    " whatsapp_from, whatsapp_provider, payments_enabled, payments_provider,"
    " paypal_client_id IS NOT NULL AND paypal_secret IS NOT NULL,"
    " tranzila_terminal, working_hours::text, max_live_calls,"
    " coalesce(after_hours_reply,'')"
    " FROM businesses WHERE id = $1",
    id);
  json::object o;
  if (r.empty())
    return o;
  auto row = r[0];
  auto text_or_null = [](const pqxx::field& f) -> json::value {
    if (f.is_null())
      return nullptr;
    return json::string{f.c_str()};
  };
  o["id"] = row[0].as<std::int64_t>();
  o["name"] = row[1].c_str();
  o["greeting"] = row[2].c_str();
  o["prompt"] = row[3].c_str();
  o["voice_engine"] = row[4].c_str();
  json::array numbers;
  for (auto n : tx.exec_params(
         "SELECT number FROM phone_numbers WHERE business_id=$1 ORDER BY 1", id))
    numbers.emplace_back(n[0].c_str());
  o["phone_numbers"] = std::move(numbers);
  o["twilio"] = {{"account_sid", text_or_null(row[5])},
                 {"auth_token_set", row[6].as<bool>()}};
  o["whatsapp"] = {{"from", text_or_null(row[7])},
                   {"provider", text_or_null(row[8])}};
  o["payments"] = {{"enabled", row[9].as<bool>()},
                   {"default_provider", text_or_null(row[10])},
                   {"paypal_configured", row[11].as<bool>()},
                   {"tranzila_terminal", text_or_null(row[12])}};
  o["working_hours"] = json::parse(row[13].c_str());
  o["max_live_calls"] = row[14].is_null()
                          ? json::value(nullptr)
                          : json::value(row[14].as<std::int64_t>());
  o["after_hours_reply"] = row[15].c_str();
  return o;
}

/// Applies `in` to business `id` (COALESCE keeps what was not given).
void save_business(db_tx& tx, std::int64_t id, const business_input& in) {
  tx.exec_params(
    "UPDATE businesses SET"
    " name = coalesce($2, name), greeting = coalesce($3, greeting),"
    " prompt = coalesce($4, prompt), voice_engine = coalesce($5, voice_engine),"
    " twilio_account_sid = coalesce($6, twilio_account_sid),"
    " twilio_auth_token = coalesce($7, twilio_auth_token),"
    " whatsapp_from = coalesce($8, whatsapp_from),"
    " whatsapp_provider = coalesce($9, whatsapp_provider),"
    " payments_enabled = coalesce($10, payments_enabled),"
    " payments_provider = coalesce($11, payments_provider),"
    " paypal_client_id = coalesce($12, paypal_client_id),"
    " paypal_secret = coalesce($13, paypal_secret),"
    " tranzila_terminal = coalesce($14, tranzila_terminal),"
    " working_hours = coalesce($15::jsonb, working_hours),"
    " max_live_calls = coalesce($16, max_live_calls),"
    " after_hours_reply = coalesce($17, after_hours_reply),"
    " updated_at = now() WHERE id = $1",
    id, in.name, in.greeting, in.prompt, in.voice_engine, in.twilio_sid,
    in.twilio_token, in.wa_from, in.wa_provider, in.payments_enabled,
    in.payments_provider, in.paypal_id, in.paypal_secret, in.tranzila_terminal,
    in.working_hours, in.max_live_calls, in.after_hours_reply);
  if (in.phone_numbers) {
    tx.exec_params("DELETE FROM phone_numbers WHERE business_id = $1", id);
    for (auto& n : *in.phone_numbers)
      tx.exec_params("INSERT INTO phone_numbers(number, business_id)"
                     " VALUES ($1, $2) ON CONFLICT (number) DO NOTHING",
                     n, id);
  }
}

/// Numbers in `in` already claimed by another business.
std::vector<std::string> claimed_elsewhere(db_tx& tx, std::int64_t id,
                                           const business_input& in) {
  std::vector<std::string> out;
  if (!in.phone_numbers)
    return out;
  for (auto& n : *in.phone_numbers) {
    auto r = tx.exec_params("SELECT business_id FROM phone_numbers"
                            " WHERE number = $1 FOR UPDATE",
                            n);
    if (!r.empty() && r[0][0].as<std::int64_t>() != id)
      out.push_back(n);
  }
  return out;
}

std::optional<std::int64_t> path_id(const request& req, std::size_t i = 0) {
  if (req.path_params.size() <= i)
    return std::nullopt;
  auto& s = req.path_params[i];
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

/// Parses the JSON object body or answers 400.
bool parse_body(const request& req, json_doc& doc, simdjson::dom::object& obj,
                const responder& res) {
  if (!doc.parse(req.body())) {
    res(error_response(http::status::bad_request, doc.error()));
    return false;
  }
  auto o = doc.object();
  if (!o) {
    res(error_response(http::status::bad_request,
                       "JSON body must be an object"));
    return false;
  }
  obj = *o;
  return true;
}

struct outcome {
  http::status status = http::status::ok;
  std::string body;
};

/// Runs `job` and answers with what it put in the outcome.
void run_and_answer(services& svc, responder res,
                    std::function<void(db_tx&, outcome&)> job) {
  auto out = std::make_shared<outcome>();
  svc.db.run([job = std::move(job), out](db_tx& tx) { job(tx, *out); },
             [res, out](const db_error& err) {
               if (!err.empty())
                 return res(error_response(
                   err == "database unavailable"
                     ? http::status::service_unavailable
                     : http::status::internal_server_error,
                   err == "database unavailable" ? "Database unavailable"
                                                 : "Database error"));
               res(json_response(out->status, std::move(out->body)));
             });
}

} // namespace

void add_admin_routes(router& r, services& svc) {
  r.add(
    http::verb::post, "/api/admin/businesses",
    require(svc, access::admin, [&svc](request_ptr req, responder res,
                                       principal) {
      json_doc doc;
      simdjson::dom::object obj;
      if (!parse_body(*req, doc, obj, res))
        return;
      auto in = std::make_shared<business_input>();
      if (auto err = parse_business(obj, *in, true); !err.empty())
        return res(error_response(http::status::bad_request, err));
      run_and_answer(svc, res, [in](db_tx& tx, outcome& out) {
        auto clash = claimed_elsewhere(tx, -1, *in);
        if (!clash.empty()) {
          out.status = http::status::conflict;
          out.body = json_error("Phone number already claimed: " + clash[0]);
          return;
        }
        auto id = tx.exec("INSERT INTO businesses(name) VALUES ('')"
                          " RETURNING id")[0][0]
                    .as<std::int64_t>();
        save_business(tx, id, *in);
        out.status = http::status::created;
        out.body = json::serialize(business_view(tx, id));
      });
    }));

  r.add(http::verb::get, "/api/admin/businesses",
        require(svc, access::admin, [&svc](request_ptr, responder res,
                                           principal) {
          run_and_answer(svc, res, [](db_tx& tx, outcome& out) {
            json::array items;
            for (auto row : tx.exec("SELECT id FROM businesses ORDER BY id"))
              items.push_back(business_view(tx, row[0].as<std::int64_t>()));
            auto total = items.size();
            json::object o{{"items", std::move(items)},
                           {"page", 1},
                           {"per_page", total},
                           {"total", total}};
            out.body = json::serialize(o);
          });
        }));

  auto get_or_patch = [&svc](bool patch) {
    return require(svc, access::admin, [&svc, patch](request_ptr req,
                                                     responder res, principal) {
      auto id = path_id(*req);
      if (!id)
        return res(error_response(http::status::not_found, "No such business"));
      auto in = std::make_shared<business_input>();
      if (patch) {
        json_doc doc;
        simdjson::dom::object obj;
        if (!parse_body(*req, doc, obj, res))
          return;
        if (auto err = parse_business(obj, *in, false); !err.empty())
          return res(error_response(http::status::bad_request, err));
      }
      run_and_answer(svc, res, [in, id = *id, patch](db_tx& tx, outcome& out) {
        auto exists = tx.exec_params(
          "SELECT 1 FROM businesses WHERE id = $1 FOR UPDATE", id);
        if (exists.empty()) {
          out.status = http::status::not_found;
          out.body = json_error("No such business");
          return;
        }
        if (patch) {
          auto clash = claimed_elsewhere(tx, id, *in);
          if (!clash.empty()) {
            out.status = http::status::conflict;
            out.body = json_error("Phone number already claimed: " + clash[0]);
            return;
          }
          save_business(tx, id, *in);
        }
        out.body = json::serialize(business_view(tx, id));
      });
    });
  };
  r.add(http::verb::get, "/api/admin/businesses/{id}", get_or_patch(false));
  r.add(http::verb::patch, "/api/admin/businesses/{id}", get_or_patch(true));

  r.add(
    http::verb::post, "/api/admin/tokens",
    require(svc, access::admin, [&svc](request_ptr req, responder res,
                                       principal) {
      json_doc doc;
      simdjson::dom::object obj;
      if (!parse_body(*req, doc, obj, res))
        return;
      auto business = get_int(obj, "business_id");
      auto role_f = get_string(obj, "role");
      auto name = get_string(obj, "name");
      if (!business.ok() || business.value <= 0)
        return res(error_response(http::status::bad_request,
                                  "business_id must be a positive integer"));
      if (!role_f.ok() || !parse_role(role_f.value))
        return res(error_response(http::status::bad_request,
                                  "role must be owner, agent or read_only"));
      if (name.state == field_state::wrong_type
          || (name.ok() && name.value.size() > 200))
        return res(error_response(http::status::bad_request,
                                  "name must be a short string"));
      auto token = "al_" + crypto::random_token(24);
      auto hash = hash_token(token);
      run_and_answer(
        svc, res,
        [token, hash, bid = business.value, role = std::string{role_f.value},
         nm = std::string{name.ok() ? name.value : ""}](db_tx& tx,
                                                        outcome& out) {
          if (tx.exec_params("SELECT 1 FROM businesses WHERE id=$1", bid)
                .empty()) {
            out.status = http::status::not_found;
            out.body = json_error("No such business");
            return;
          }
          auto id = tx.exec_params("INSERT INTO api_tokens(business_id, role,"
                                   " name, token_hash) VALUES ($1,$2,$3,$4)"
                                   " RETURNING id",
                                   bid, role, nm, hash)[0][0]
                      .as<std::int64_t>();
          out.status = http::status::created;
          out.body = json::serialize(json::object{{"id", id},
                                                  {"token", token},
                                                  {"business_id", bid},
                                                  {"role", role}});
        });
    }));

  r.add(http::verb::delete_, "/api/admin/tokens/{id}",
        require(svc, access::admin, [&svc](request_ptr req, responder res,
                                           principal) {
          auto id = path_id(*req);
          if (!id)
            return res(error_response(http::status::not_found, "No such token"));
          run_and_answer(svc, res, [id = *id](db_tx& tx, outcome& out) {
            auto r = tx.exec_params("UPDATE api_tokens SET revoked_at = now()"
                                    " WHERE id = $1 AND revoked_at IS NULL"
                                    " RETURNING id",
                                    id);
            if (r.empty()) {
              out.status = http::status::not_found;
              out.body = json_error("No such token");
              return;
            }
            out.body = R"({"success":true})";
          });
        }));

  r.add(http::verb::get, "/api/admin/supervisors",
        require(svc, access::admin, [&svc](request_ptr, responder res,
                                           principal) {
          json::array domains;
          for (auto* st :
               {&svc.call_stats, &svc.whatsapp_stats, &svc.payment_stats}) {
            domains.push_back(json::object{
              {"domain", st->domain},
              {"manager", st->domain + "_manager"},
              {"live", st->live.load()},
              {"spawned", st->spawned.load()},
              {"restarts", st->restarts.load()},
              {"given_up", st->given_up.load()},
              {"last_failure", st->last_failure()},
              {"last_failure_at", st->last_failure_at()}});
          }
          res(json_response(http::status::ok,
                            json::serialize(json::object{
                              {"items", std::move(domains)}})));
        }));
}

} // namespace al
