// /api/crm/*: leads, notes, calls (+ audio), appointments, pipeline, tasks,
// the token's business. Thin handlers: parse and validate the request with
// core/crm_input.hpp, run one actors/crm_queries.hpp function in a store
// job for the principal's business, render its reply. Roles are checked by
// require() (transport/auth.cpp) before anything else.
#include "transport/handlers/handlers.hpp"

#include "actors/audio_store.hpp"
#include "actors/businesses.hpp"
#include "actors/crm_queries.hpp"
#include "core/business_input.hpp"
#include "core/crm_input.hpp"
#include "core/form.hpp"
#include "core/http_range.hpp"
#include "core/wav.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <memory>

namespace al {

namespace {

// -- audio ---------------------------------------------------------------------

/// The largest 206 body (four chunks).
constexpr std::uint64_t max_audio_part = 4 * audio_chunk_bytes;

/// Answers a GET for one stored audio object, honouring a single byte range
/// (core/http_range.hpp): 200 with the whole body, 206 with the range (only
/// the chunks it needs are read), 416 when it lies past the end.
http_response audio_response(db_tx& tx, const audio_object& object,
                             const std::string& range_header) {
  auto range = parse_range(range_header, object.total_bytes);
  if (range.what == range_request::kind::unsatisfiable) {
    auto res = error_response(http::status::range_not_satisfiable,
                              "Range not satisfiable");
    res.set(http::field::content_range, unsatisfied_range(object.total_bytes));
    res.set(http::field::accept_ranges, "bytes");
    return res;
  }
  bool partial = range.what == range_request::kind::partial;
  // A 206 carries at most max_audio_part bytes (RFC 9110 lets a server send
  // less than asked; Content-Range says what came): a player's
  // `bytes=0-` streams the recording in parts instead of one read of a
  // two-hour call on a database thread.
  if (partial && range.range.length() > max_audio_part)
    range.range.last = range.range.first + max_audio_part - 1;
  std::optional<std::string> body;
  if (partial)
    body = read_audio_bytes(tx, object, range.range.first, range.range.last);
  else
    body = read_audio_bytes(tx, object, 0,
                            object.total_bytes ? object.total_bytes - 1 : 0);
  if (!body) // stored chunks do not add up (logged)
    return error_response(http::status::not_found, "No such audio");
  auto res = make_response(partial ? http::status::partial_content
                                   : http::status::ok,
                           std::move(*body), object.content_type);
  if (partial)
    res.set(http::field::content_range,
            content_range(range.range, object.total_bytes));
  res.set(http::field::accept_ranges, "bytes");
  res.set(http::field::cache_control, "private, max-age=3600");
  return res;
}

/// Serves the object a store lookup finds, from PostgreSQL (any instance
/// serves any call's audio).
void serve_audio(services& svc, const responder& res, const principal& p,
                 const request& req,
                 std::function<std::optional<audio_object>(db_tx&)> lookup) {
  // If-Range names a validator these answers never give: the whole body.
  std::string range;
  if (req.header(http::field::if_range).empty())
    range = std::string{req.header(http::field::range)};
  auto out = std::make_shared<http_response>();
  svc.db.run(
    [out, lookup = std::move(lookup), bid = p.business_id,
     admin = p.is_admin(), range](db_tx& tx) {
      if (admin && !business_exists(tx, bid)) {
        *out = error_response(http::status::not_found, "No such business");
        return;
      }
      auto object = lookup(tx);
      if (!object) {
        *out = error_response(http::status::not_found, "No such audio");
        return;
      }
      *out = audio_response(tx, *object, range);
    },
    [res, out](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err));
      res(std::move(*out));
    });
}

// -- route groups ------------------------------------------------------------

void add_lead_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/leads",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  lead_filter f;
                  if (auto err = parse_lead_filter(*q, f); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, p.business_id,
                          [f, b = p.business_id](db_tx& tx) {
                            return list_leads(tx, b, f);
                          });
                }));

  r.add(http::verb::post, "/api/crm/leads",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  lead_input in;
                  if (auto err = parse_lead(b->obj, in, true); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [in, bid = b->business, who = p.actor()](db_tx& tx) {
                            return create_lead(tx, bid, in, who);
                          });
                }));

  r.add(http::verb::get, "/api/crm/leads/{id}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  run_crm(svc, res, p, p.business_id,
                          [id = *id, b = p.business_id](db_tx& tx) {
                            return get_lead(tx, b, id);
                          });
                }));

  r.add(http::verb::patch, "/api/crm/leads/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  lead_input in;
                  if (auto err = parse_lead(b->obj, in, false); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [in, id = *id, bid = b->business,
                           who = p.actor()](db_tx& tx) {
                            return update_lead(tx, bid, id, in, who);
                          });
                }));

  r.add(http::verb::delete_, "/api/crm/leads/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  // Only the id: the lead's personal data is gone on purpose.
                  run_crm(svc, res, p, p.business_id,
                          audited(audit_actor(p, *req),
                                  audit_entry{p.business_id, "lead.delete",
                                              "lead", std::to_string(*id), {}},
                                  [id = *id, b = p.business_id](db_tx& tx) {
                                    return delete_lead(tx, b, id);
                                  }));
                }));

  r.add(http::verb::get, "/api/crm/leads/{id}/notes",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  auto q = id ? query_of(*req, res) : std::nullopt;
                  if (!q)
                    return;
                  page_params pg;
                  if (auto err = parse_paging(*q, pg); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, p.business_id,
                          [id = *id, pg, b = p.business_id](db_tx& tx) {
                            return list_notes(tx, b, id, pg);
                          });
                }));

  r.add(http::verb::post, "/api/crm/leads/{id}/notes",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  std::string text;
                  if (auto err = parse_note(b->obj, text); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [id = *id, text, bid = b->business,
                           who = p.actor()](db_tx& tx) {
                            return add_note(tx, bid, id, text, who);
                          });
                }));
}

void add_call_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/calls",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  call_filter f;
                  if (auto err = parse_call_filter(*q, f); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, p.business_id,
                          [f, b = p.business_id](db_tx& tx) {
                            return list_calls(tx, b, f);
                          });
                }));

  r.add(http::verb::get, "/api/crm/calls/{sid}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto& sid = req->path_params.at(0);
                  if (!valid_call_sid(sid))
                    return res(
                      error_response(http::status::not_found, "No such call"));
                  run_crm(svc, res, p, p.business_id,
                          [sid, b = p.business_id](db_tx& tx) {
                            return get_call(tx, b, sid);
                          });
                }));

  r.add(
    http::verb::get, "/api/crm/calls/{sid}/segments/{seq}",
    require(
      svc, access::read, [&svc](request_ptr req, responder res, principal p) {
        auto& sid = req->path_params.at(0);
        auto seq = parse_decimal(req->path_params.at(1), 0, 2147483647);
        if (!valid_call_sid(sid) || !seq)
          return res(error_response(http::status::not_found, "No such audio"));
        serve_audio(svc, res, p, *req,
                    [sid, seq = *seq, b = p.business_id](db_tx& tx) {
                      return find_call_audio(tx, b, sid, audio_kind_segment(),
                                             seq);
                    });
      }));

  r.add(http::verb::get, "/api/crm/calls/{sid}/recording",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto& sid = req->path_params.at(0);
                  if (!valid_call_sid(sid))
                    return res(
                      error_response(http::status::not_found, "No such audio"));
                  serve_audio(svc, res, p, *req,
                              [sid, b = p.business_id](db_tx& tx) {
                                return find_call_recording(tx, b, sid);
                              });
                }));
}

void add_appointment_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/appointments",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  appointment_filter f;
                  if (auto err = parse_appointment_filter(*q, f); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, p.business_id,
                          [f, b = p.business_id](db_tx& tx) {
                            return list_appointments(tx, b, f);
                          });
                }));

  r.add(http::verb::post, "/api/crm/appointments",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  appointment_input in;
                  if (auto err = parse_appointment(b->obj, in, true);
                      !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [in, bid = b->business](db_tx& tx) {
                            return create_appointment(tx, bid, in);
                          });
                }));

  r.add(http::verb::patch, "/api/crm/appointments/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "appointment");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  appointment_input in;
                  if (auto err = parse_appointment(b->obj, in, false);
                      !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [in, id = *id, bid = b->business](db_tx& tx) {
                            return update_appointment(tx, bid, id, in);
                          });
                }));
}

void add_pipeline_and_task_routes(router& r, services& svc) {
  r.add(
    http::verb::get, "/api/crm/pipeline",
    require(svc, access::read, [&svc](request_ptr, responder res, principal p) {
      run_crm(svc, res, p, p.business_id,
              [b = p.business_id](db_tx& tx) { return get_pipeline(tx, b); });
    }));

  r.add(http::verb::put, "/api/crm/pipeline",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  std::vector<pipeline_status> statuses;
                  if (auto err = parse_pipeline(b->obj, statuses); !err.empty())
                    return bad_request(res, err);
                  boost::json::array keys;
                  for (auto& s : statuses)
                    keys.emplace_back(s.key);
                  run_crm(svc, res, p, b->business,
                          audited(audit_actor(p, *req),
                                  audit_entry{b->business, "pipeline.update",
                                              "business",
                                              std::to_string(b->business),
                                              {{"statuses", std::move(keys)}}},
                                  [statuses, bid = b->business](db_tx& tx) {
                                    return put_pipeline(tx, bid, statuses);
                                  }));
                }));

  r.add(http::verb::get, "/api/crm/tasks",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  task_filter f;
                  if (auto err = parse_task_filter(*q, f); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, p.business_id,
                          [f, b = p.business_id](db_tx& tx) {
                            return list_tasks(tx, b, f);
                          });
                }));

  r.add(http::verb::post, "/api/crm/tasks",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  task_input in;
                  if (auto err = parse_task(b->obj, in, true); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [in, bid = b->business](db_tx& tx) {
                            return create_task(tx, bid, in);
                          });
                }));

  r.add(http::verb::patch, "/api/crm/tasks/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "task");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  task_input in;
                  if (auto err = parse_task(b->obj, in, false); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [in, id = *id, bid = b->business](db_tx& tx) {
                            return update_task(tx, bid, id, in);
                          });
                }));
}

/// Longest greeting recording a business may upload.
constexpr double max_greeting_seconds = 60;

/// The business an upload acts for: the token's, or ?business_id= for the
/// administrator.
std::optional<std::int64_t> query_business(const request& req,
                                           const responder& res,
                                           const principal& p) {
  auto q = query_of(req, res);
  if (!q)
    return std::nullopt;
  std::optional<std::int64_t> named;
  if (auto v = q->value_or("business_id"); !v.empty()) {
    std::int64_t id = 0;
    for (char c : v) {
      if (c < '0' || c > '9' || id > 1'000'000'000'000LL) {
        bad_request(res, "business_id must be a positive integer");
        return std::nullopt;
      }
      id = id * 10 + (c - '0');
    }
    named = id;
  }
  return effective_business(p, named);
}

void add_greeting_audio_routes(router& r, services& svc) {
  // PUT: the body is the recording (WAV, MP3, OGG, FLAC...; up to 5 MiB,
  // 60 s), played to callers from then on as 8 kHz mu-law.
  r.add(
    http::verb::put, "/api/crm/settings/greeting-audio",
    require(
      svc, access::manage, [&svc](request_ptr req, responder res, principal p) {
        auto business = query_business(*req, res, p);
        if (!business)
          return;
        if (req->body().empty())
          return bad_request(res, "the body must be an audio file");
        // Decoding takes a few ms per second of audio: on a store worker,
        // never on an I/O thread.
        auto out = std::make_shared<std::pair<std::string, double>>();
        auto known = std::make_shared<bool>(false);
        svc.db.run(
          [req, out, known, b = *business, who = audit_actor(p, *req)](
            db_tx& tx) {
            std::string err;
            auto mulaw = decode_audio_as_mulaw(req->body(),
                                               max_greeting_seconds, err);
            if (!mulaw) {
              out->first = err.empty() ? "not an audio file" : err;
              *known = business_exists(tx, b);
              return;
            }
            out->second = static_cast<double>(mulaw->size()) / 8000.0;
            *known = set_greeting_audio(tx, b, *mulaw);
            if (*known)
              record_audit(tx, who,
                           audit_entry{b, "greeting_audio.set", "business",
                                       std::to_string(b),
                                       boost::json::object{
                                         {"seconds", out->second},
                                         {"bytes", req->body().size()}}});
          },
          [res, out, known](const db_error& err) {
            if (!err.empty())
              return res(db_error_response(err));
            if (!*known)
              return res(error_response(http::status::not_found,
                                        "No such business"));
            if (!out->first.empty())
              return res(error_response(http::status::bad_request,
                                        "Unreadable audio: " + out->first));
            boost::json::object o{{"success", true},
                                  {"seconds", out->second}};
            res(json_response(http::status::ok, boost::json::serialize(o)));
          });
      }));

  r.add(
    http::verb::delete_, "/api/crm/settings/greeting-audio",
    require(
      svc, access::manage, [&svc](request_ptr req, responder res, principal p) {
        auto business = query_business(*req, res, p);
        if (!business)
          return;
        auto known = std::make_shared<bool>(false);
        svc.db.run(
          [known, b = *business, who = audit_actor(p, *req)](db_tx& tx) {
            bool cleared = false;
            *known = set_greeting_audio(tx, b, std::nullopt, &cleared);
            if (cleared)
              record_audit(tx, who,
                           audit_entry{b, "greeting_audio.clear", "business",
                                       std::to_string(b), {}});
          },
          [res, known](const db_error& err) {
            if (!err.empty())
              return res(db_error_response(err));
            if (!*known)
              return res(error_response(http::status::not_found,
                                        "No such business"));
            res(json_response(http::status::ok, R"({"success":true})"));
          });
      }));
}

void add_business_routes(router& r, services& svc) {
  add_greeting_audio_routes(r, svc);

  // The business's audit trail: owners and the administrator.
  r.add(http::verb::get, "/api/crm/audit",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  page_params paging;
                  if (auto err = parse_paging(*q, paging); !err.empty())
                    return bad_request(res, err);
                  std::optional<std::string> action;
                  if (auto v = q->value_or("action"); !v.empty()) {
                    bool ok = v.size() <= 64;
                    for (char c : v)
                      ok = ok && ((c >= 'a' && c <= 'z') || c == '.' || c == '_');
                    if (!ok)
                      return bad_request(
                        res, "action must be an action name like lead.delete"
                             " (or a prefix ending in '.')");
                    action = v;
                  }
                  run_crm(svc, res, p, p.business_id,
                          [b = p.business_id, action, paging](db_tx& tx) {
                            return crm_reply{crm_code::ok,
                                             list_audit(tx, b, action, paging)};
                          });
                }));
  for (auto path : {"/api/crm/business", "/api/crm/settings"})
    r.add(http::verb::get, path,
          require(svc, access::read,
                  [&svc](request_ptr, responder res, principal p) {
                    run_crm(svc, res, p, p.business_id,
                            [b = p.business_id](db_tx& tx) {
                              return get_business(tx, b);
                            });
                  }));

  for (auto path : {"/api/crm/business", "/api/crm/settings"})
  r.add(
    http::verb::patch, path,
    require(
      svc, access::manage, [&svc](request_ptr req, responder res, principal p) {
        auto b = body_of(*req, res, p);
        if (!b)
          return;
        business_input in;
        if (auto err = parse_business(b->obj, in, false); !err.empty())
          return bad_request(res, err);
        if (auto f = admin_only_field(in); !f.empty() && !p.is_admin())
          return res(
            error_response(http::status::forbidden,
                           f + " may only be changed by the administrator"));
        auto done = res;
        if (in.greeting || in.voice || in.voice_engine)
          done = responder{[res, &svc, bid = b->business](http_response r) {
            if (r.result() == http::status::ok)
              warm_greeting(svc, bid);
            res(std::move(r));
          }};
        run_crm(svc, done, p, b->business,
                [in, bid = b->business, who = audit_actor(p, *req)](db_tx& tx) {
                  return patch_business(tx, bid, in, who);
                });
      }));
}

/// GET /api/crm/leads/{id}/messages (the WhatsApp paths write them).
void add_message_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/leads/{id}/messages",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  auto q = id ? query_of(*req, res) : std::nullopt;
                  if (!q)
                    return;
                  page_params pg;
                  if (auto err = parse_paging(*q, pg); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, p.business_id,
                          [id = *id, pg, b = p.business_id](db_tx& tx) {
                            return list_lead_messages(tx, b, id, pg);
                          });
                }));
}

} // namespace

void add_crm_routes(router& r, services& svc) {
  add_lead_routes(r, svc);
  add_call_routes(r, svc);
  add_appointment_routes(r, svc);
  add_pipeline_and_task_routes(r, svc);
  add_business_routes(r, svc);
  add_message_routes(r, svc);
}

} // namespace al
