// Call audio kept in PostgreSQL (SPEC §7 "After every call"): any instance
// serves any object, byte ranges, retention, erasure with the lead, and the
// one-time import of files earlier versions wrote to RECORDINGS_DIR.
#include "tests/crm/crm_support.hpp"
#include "tests/support/audio_rows.hpp"
#include "tests/support/fake_http_server.hpp"

#include "actors/audio_jobs.hpp"
#include "actors/audio_store.hpp"
#include "actors/metrics.hpp"
#include "core/wav.hpp"
#include "transport/services.hpp"

#include <gtest/gtest.h>

#include <caf/send.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace al::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::size_t chunk = audio_chunk_bytes;

/// `n` bytes of a pattern that differs at every position of a chunk.
std::string pattern(std::size_t n, unsigned seed = 7) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((i * 131 + i / 251 + seed) & 0xff);
  return out;
}

/// A new empty directory under the working directory.
std::string empty_dir(const std::string& tag) {
  static int counter = 0;
  auto dir = fs::absolute("./var/audio-test-" + std::to_string(::getpid()) + "-"
                          + tag + "-" + std::to_string(++counter));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_file(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream{p, std::ios::binary} << data;
}

/// A second instance's config: the same database as `first`, its own
/// (empty) RECORDINGS_DIR.
config same_database(const config& first, const std::string& tag) {
  auto cfg = test_config();
  cfg.database_url = first.database_url;
  cfg.recordings_dir = empty_dir(tag);
  return cfg;
}

http_result get(std::uint16_t port, const std::string& target,
                const std::string& token, header_list extra = {}) {
  extra.emplace_back("Authorization", "Bearer " + token);
  return http_call(port, "GET", target, {}, extra);
}

void insert_call(crm_app& crm, std::int64_t business, const std::string& sid,
                 const std::string& lead = "NULL") {
  crm.sql("INSERT INTO calls (business_id, call_sid, status, lead_id)"
          " VALUES ("
          + std::to_string(business) + ", '" + sid + "', 'completed', " + lead
          + ")");
}

int count(crm_app& crm, const std::string& sql) {
  return std::stoi(crm.sql(sql));
}

// -- any instance
// ---------------------------------------------------------------

TEST(audio, saved_through_one_instance_plays_byte_identical_through_another) {
  crm_app a;
  auto owner = a.new_token(1, "owner").token;
  insert_call(a, 1, "CAX");
  auto segment = mulaw_wav(pattern(8000)); // one second of caller audio
  auto recording = pattern(2 * chunk + 12345, 3);
  ASSERT_TRUE(save_audio(a.app().svc().db, "CAX", "segment", 1, "audio/wav",
                         segment, 1000));
  ASSERT_TRUE(save_audio(a.app().svc().db, "CAX", "recording", 0, "audio/x-wav",
                         recording, 61000));
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT count(*) FROM call_audio WHERE complete") == "2";
  }));
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio_chunks"), "4");

  // B: same database, an empty RECORDINGS_DIR (a pod that never saw A's).
  auto b_cfg = same_database(a.cfg(), "b");
  running_app b{b_cfg};
  auto detail = a.call("GET", "/api/crm/calls/CAX", owner);
  const auto on_b
    = json::parse(get(b.port(), "/api/crm/calls/CAX", owner).body);
  for (auto* d : {&detail.obj(), &on_b.as_object()}) {
    auto& segs = d->at("segments").as_array();
    ASSERT_EQ(segs.size(), 1u);
    EXPECT_EQ(segs[0].at("seq").as_int64(), 1);
    EXPECT_EQ(segs[0].at("duration_ms").as_int64(), 1000);
    EXPECT_EQ(segs[0].at("url").as_string(), "/api/crm/calls/CAX/segments/1");
    EXPECT_TRUE(segs[0].at("at").is_string());
    EXPECT_EQ(d->at("recording_url").as_string(),
              "/api/crm/calls/CAX/recording");
  }
  auto s = get(b.port(), "/api/crm/calls/CAX/segments/1", owner);
  ASSERT_EQ(s.status, 200);
  EXPECT_TRUE(s.body == segment);
  EXPECT_EQ(s.header("content-type"), "audio/wav");
  EXPECT_EQ(s.header("accept-ranges"), "bytes");
  EXPECT_EQ(s.header("cache-control"), "private, max-age=3600");
  auto r = get(b.port(), "/api/crm/calls/CAX/recording", owner);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), recording.size());
  EXPECT_TRUE(r.body == recording);
  EXPECT_EQ(r.header("content-type"), "audio/x-wav");
  EXPECT_TRUE(fs::is_empty(b_cfg.recordings_dir));

  // A pod restart: a new instance with a new empty directory, A gone.
  auto c_cfg = same_database(a.cfg(), "c");
  running_app c{c_cfg};
  auto again = get(c.port(), "/api/crm/calls/CAX/recording", owner);
  EXPECT_EQ(again.status, 200);
  EXPECT_TRUE(again.body == recording);
  fs::remove_all(b_cfg.recordings_dir);
  fs::remove_all(c_cfg.recordings_dir);
}

TEST(audio, the_whole_call_wins_and_a_streamed_object_plays_once_complete) {
  crm_app a;
  auto owner = a.new_token(1, "owner").token;
  insert_call(a, 1, "CAS");
  auto& db = a.app().svc().db;
  ASSERT_TRUE(
    save_audio(db, "CAS", "recording", 0, "audio/wav", "twilio copy", 0));
  // The whole-call recorder streams its object chunk by chunk.
  auto ogg = pattern(chunk + 999, 11);
  ASSERT_TRUE(append_audio_chunk(db, "CAS", "call", 0, "audio/ogg", 0,
                                 ogg.substr(0, chunk), false, 0));
  // Refused: a short chunk that is not the last, a negative number.
  EXPECT_FALSE(append_audio_chunk(db, "CAS", "call", 0, "audio/ogg", 1, "short",
                                  false, 0));
  EXPECT_FALSE(
    append_audio_chunk(db, "CAS", "call", 0, "audio/ogg", -1, "x", true, 0));
  EXPECT_FALSE(save_audio(db, "CAS", "bogus", 0, "audio/ogg", "x", 0));
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT count(*) FROM call_audio_chunks c JOIN call_audio a"
                 " ON a.id = c.audio_id WHERE a.kind = 'call'")
           == "1";
  }));
  // Not complete: the downloaded recording is what plays.
  auto r = get(a.app().port(), "/api/crm/calls/CAS/recording", owner);
  EXPECT_EQ(r.body, "twilio copy");
  ASSERT_TRUE(append_audio_chunk(db, "CAS", "call", 0, "audio/ogg", 1,
                                 ogg.substr(chunk), true, 4200));
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT complete FROM call_audio WHERE kind = 'call'") == "t";
  }));
  EXPECT_EQ(a.sql("SELECT total_bytes FROM call_audio WHERE kind = 'call'"),
            std::to_string(ogg.size()));
  EXPECT_EQ(a.sql("SELECT duration_ms FROM call_audio WHERE kind = 'call'"),
            "4200");
  r = get(a.app().port(), "/api/crm/calls/CAS/recording", owner);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "audio/ogg");
  EXPECT_TRUE(r.body == ogg);
  // A retry of the same chunks (an unknown commit outcome) changes nothing.
  ASSERT_TRUE(append_audio_chunk(db, "CAS", "call", 0, "audio/ogg", 1,
                                 ogg.substr(chunk), true, 4200));
  ASSERT_TRUE(
    save_audio(db, "CAS", "recording", 0, "audio/wav", "twilio copy", 0));
  ASSERT_TRUE(save_audio(db, "CAS", "segment", 9, "audio/wav", "flush", 0));
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT count(*) FROM call_audio WHERE kind = 'segment'")
           == "1";
  }));
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio"), "3");
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio_chunks"), "4");
  EXPECT_TRUE(get(a.app().port(), "/api/crm/calls/CAS/recording", owner).body
              == ogg);
  // Audio for a call that does not exist is dropped (logged), not stored.
  ASSERT_TRUE(save_audio(db, "CA-none", "segment", 1, "audio/wav", "x", 0));
  ASSERT_TRUE(save_audio(db, "CAS", "segment", 10, "audio/wav", "after", 0));
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT count(*) FROM call_audio WHERE seq = 10") == "1";
  }));
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio WHERE call_sid = 'CA-none'"),
            "0");
}

TEST(audio, a_twilio_recording_is_downloaded_into_the_database) {
  auto body = pattern(chunk + 4321, 13);
  fake_http_server twilio{[&](const fake_http_server::request& req) {
    if (req.target() == "/rec/RE1.wav")
      return fake_http_server::reply(http::status::ok, body,
                                     "audio/x-wav; charset=binary");
    return fake_http_server::reply(http::status::not_found);
  }};
  auto cfg = test_config();
  cfg.recordings_dir = empty_dir("twilio");
  crm_app a{cfg};
  auto owner = a.new_token(1, "owner").token;
  insert_call(a, 1, "CAREC");
  auto r = twilio_post(a.app().port(), cfg.public_base_url,
                       cfg.twilio_auth_token, "/webhook/recording_status",
                       {{"CallSid", "CAREC"},
                        {"RecordingUrl", twilio.base_url() + "/rec/RE1"},
                        {"RecordingStatus", "completed"},
                        {"RecordingDuration", "7"}});
  EXPECT_EQ(r.status, 204);
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT complete FROM call_audio WHERE call_sid = 'CAREC'"
                 " AND kind = 'recording'")
           == "t";
  }));
  EXPECT_EQ(a.sql("SELECT duration_ms FROM call_audio"), "7000");
  ASSERT_EQ(twilio.request_count(), 1u);
  EXPECT_EQ(twilio.requests()[0][http::field::authorization],
            "Basic QUN0ZXN0OnRlc3QtYXV0aC10b2tlbg=="); // ACtest:test-auth-token
  auto d = a.call("GET", "/api/crm/calls/CAREC", owner);
  EXPECT_EQ(d.str_at("recording_url"), "/api/crm/calls/CAREC/recording");
  auto got = get(a.app().port(), "/api/crm/calls/CAREC/recording", owner);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.header("content-type"), "audio/x-wav");
  EXPECT_TRUE(got.body == body);
  // Nothing was written to the disk.
  EXPECT_TRUE(fs::is_empty(cfg.recordings_dir));
  fs::remove_all(cfg.recordings_dir);
}

// -- ranges -------------------------------------------------------------------

TEST(audio, range_requests_read_only_what_they_ask_for) {
  crm_app a;
  auto owner = a.new_token(1, "owner").token;
  auto port = a.app().port();
  insert_call(a, 1, "CAR");
  auto big = pattern(2 * chunk + 777, 5); // three chunks
  a.sql(audio_insert_sql(1, "CAR", "recording", 0, "audio/mpeg", big));
  auto n = big.size();
  auto total = std::to_string(n);
  const std::string url = "/api/crm/calls/CAR/recording";
  auto ranged = [&](const std::string& range) {
    return get(port, url, owner, {{"Range", range}});
  };
  auto expect_part = [&](const std::string& range, std::size_t first,
                         std::size_t last) {
    auto r = ranged(range);
    ASSERT_EQ(r.status, 206) << range;
    EXPECT_EQ(r.header("content-range"), "bytes " + std::to_string(first) + "-"
                                           + std::to_string(last) + "/" + total)
      << range;
    EXPECT_EQ(r.header("content-length"), std::to_string(last - first + 1));
    EXPECT_EQ(r.header("accept-ranges"), "bytes");
    EXPECT_EQ(r.header("content-type"), "audio/mpeg");
    EXPECT_EQ(r.header("cache-control"), "private, max-age=3600");
    EXPECT_TRUE(r.body == big.substr(first, last - first + 1)) << range;
  };
  expect_part("bytes=0-0", 0, 0);
  expect_part("bytes=0-99", 0, 99);                   // the first bytes
  expect_part("bytes=-100", n - 100, n - 1);          // a suffix
  expect_part("bytes=300000-", 300000, n - 1);        // open-ended
  expect_part("bytes=262100-262200", 262100, 262200); // across a chunk
  expect_part("bytes=1-" + std::to_string(n + 5000), 1, n - 1); // clamped
  expect_part("bytes=-" + std::to_string(n * 4), 0, n - 1);
  expect_part("bytes=" + std::to_string(chunk) + "-"
                + std::to_string(2 * chunk - 1),
              chunk, 2 * chunk - 1); // exactly the middle chunk
  expect_part("bytes=" + std::to_string(n - 1) + "-", n - 1, n - 1);

  // A long recording streams in parts: a 206 carries at most four chunks.
  auto longer = pattern(4 * chunk + 1000, 7);
  a.sql(audio_insert_sql(1, "CAR", "segment", 9, "audio/wav", longer));
  auto part = get(port, "/api/crm/calls/CAR/segments/9", owner,
                  {{"Range", "bytes=0-"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.header("content-range"),
            "bytes 0-" + std::to_string(4 * chunk - 1) + "/"
              + std::to_string(longer.size()));
  EXPECT_TRUE(part.body == longer.substr(0, 4 * chunk));
  auto rest = get(port, "/api/crm/calls/CAR/segments/9", owner,
                  {{"Range", "bytes=" + std::to_string(4 * chunk) + "-"}});
  ASSERT_EQ(rest.status, 206);
  EXPECT_TRUE(rest.body == longer.substr(4 * chunk));

  // Past the end: 416 with the size, nothing else.
  for (auto range : {"bytes=" + total + "-", "bytes=" + total + "-" + total,
                     std::string{"bytes=-0"},
                     std::string{"bytes=99999999999999999999999999-"}}) {
    auto r = ranged(range);
    EXPECT_EQ(r.status, 416) << range;
    EXPECT_EQ(r.header("content-range"), "bytes */" + total) << range;
    EXPECT_EQ(r.body.find(big.substr(0, 16)), std::string::npos);
  }
  // Malformed or several ranges: the whole body, 200.
  for (auto range : {"bytes=5-1", "bytes=0-1,5-6", "items=0-1", "bytes 0-1",
                     "bytes=abc", "bytes= 0-1", "bytes=", ""}) {
    auto r = ranged(range);
    EXPECT_EQ(r.status, 200) << range;
    EXPECT_EQ(r.header("content-range"), "") << range;
    EXPECT_EQ(r.header("accept-ranges"), "bytes");
    EXPECT_TRUE(r.body == big) << range;
  }
  // If-Range names a validator these answers never give: the whole body.
  auto ir = get(port, url, owner,
                {{"Range", "bytes=0-9"}, {"If-Range", "\"etag\""}});
  EXPECT_EQ(ir.status, 200);
  EXPECT_TRUE(ir.body == big);

  // A segment and an empty object.
  a.sql(audio_insert_sql(1, "CAR", "segment", 0, "audio/wav", "RIFFabcdef"));
  a.sql(audio_insert_sql(1, "CAR", "segment", 1, "audio/wav", ""));
  auto s = get(port, "/api/crm/calls/CAR/segments/0", owner,
               {{"Range", "bytes=4-"}});
  EXPECT_EQ(s.status, 206);
  EXPECT_EQ(s.body, "abcdef");
  auto e = get(port, "/api/crm/calls/CAR/segments/1", owner);
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.body, "");
  e = get(port, "/api/crm/calls/CAR/segments/1", owner,
          {{"Range", "bytes=0-"}});
  EXPECT_EQ(e.status, 416);
  EXPECT_EQ(e.header("content-range"), "bytes */0");

  // The existing answers stay: unknown audio, other tenants, the admin.
  for (auto target :
       {"/api/crm/calls/CAR/segments/7", "/api/crm/calls/CAR/segments/x",
        "/api/crm/calls/CAnone/recording",
        "/api/crm/calls/CA%27--/recording"}) {
    auto r = get(port, target, owner, {{"Range", "bytes=0-1"}});
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_NE(r.body.find("No such audio"), std::string::npos) << r.body;
  }
  auto other = a.new_business("Other");
  auto stranger = a.new_token(other, "owner").token;
  EXPECT_EQ(get(port, url, stranger).status, 404);
  EXPECT_EQ(get(port, url, stranger, {{"Range", "bytes=0-1"}}).status, 404);
  EXPECT_EQ(get(port, url, admin_token).status, 200); // admin: business 1
  auto nob = get(port, url + "?business_id=999999", admin_token);
  EXPECT_EQ(nob.status, 404);
  EXPECT_NE(nob.body.find("No such business"), std::string::npos) << nob.body;
  auto reader = a.new_token(1, "read_only").token;
  EXPECT_EQ(get(port, url, reader, {{"Range", "bytes=0-1"}}).status, 206);
  EXPECT_EQ(http_call(port, "GET", url).status, 401);
  // A corrupt object (a chunk lost) is a 404, never a 500 or wrong bytes.
  a.sql("DELETE FROM call_audio_chunks WHERE chunk_no = 1 AND audio_id ="
        " (SELECT id FROM call_audio WHERE kind = 'recording')");
  EXPECT_EQ(ranged("bytes=0-9").status, 206);
  EXPECT_EQ(ranged("bytes=262100-262200").status, 404);
  EXPECT_EQ(get(port, url, owner).status, 404);
}

// -- retention
// ------------------------------------------------------------------

TEST(audio, retention_deletes_only_objects_older_than_the_limit) {
  auto cfg = test_config();
  cfg.audio_retention_days = 30;
  crm_app a{cfg};
  auto owner = a.new_token(1, "owner").token;
  insert_call(a, 1, "CAOLD");
  insert_call(a, 1, "CANEW");
  for (int seq : {1, 2, 3})
    a.sql(audio_insert_sql(1, "CAOLD", "segment", seq, "audio/wav",
                           pattern(chunk + 10)));
  a.sql(audio_insert_sql(1, "CAOLD", "recording", 0, "audio/wav", "rec"));
  a.sql(audio_insert_sql(1, "CANEW", "segment", 1, "audio/wav", "new"));
  // 31 and 400 days old; 29 days is still inside the limit.
  a.sql("UPDATE call_audio SET created_at = now() - interval '31 days'"
        " WHERE call_sid = 'CAOLD' AND seq IN (1, 2)");
  a.sql("UPDATE call_audio SET created_at = now() - interval '400 days'"
        " WHERE call_sid = 'CAOLD' AND kind = 'recording'");
  a.sql("UPDATE call_audio SET created_at = now() - interval '29 days'"
        " WHERE call_sid = 'CAOLD' AND seq = 3");
  auto& svc = a.app().svc();
  auto jobs = find_audio_jobs(svc.sys, svc.job_manager);
  ASSERT_TRUE(jobs);
  auto before = svc.m.audio_purged.Value();
  EXPECT_EQ(purge_audio_now(svc.sys, jobs, 10s), 3);
  EXPECT_EQ(svc.m.audio_purged.Value() - before, 3.0);
  EXPECT_EQ(a.sql("SELECT string_agg(call_sid || '/' || seq, ','"
                  " ORDER BY call_sid, seq) FROM call_audio"),
            "CANEW/1,CAOLD/3");
  // Their chunks went with them.
  EXPECT_EQ(count(a, "SELECT count(*) FROM call_audio_chunks"), 2 + 1);
  auto d = a.call("GET", "/api/crm/calls/CAOLD", owner);
  EXPECT_TRUE(d.obj().at("recording_url").is_null());
  EXPECT_EQ(d.obj().at("segments").as_array().size(), 1u);
  EXPECT_EQ(get(a.app().port(), "/api/crm/calls/CAOLD/recording", owner).status,
            404);
  // Nothing more to do.
  EXPECT_EQ(purge_audio_now(svc.sys, jobs, 10s), 0);

  // In batches: a job with batch 1 deletes all of them, one per transaction.
  a.sql("UPDATE call_audio SET created_at = now() - interval '60 days'");
  audio_job_options small;
  small.retention_days = 30;
  small.purge_batch = 1;
  small.import_at_start = false;
  auto one = caf::actor_cast<audio_jobs_actor>(
    audio_jobs_spec(svc.db, nullptr, small).spawn(svc.sys));
  EXPECT_EQ(purge_audio_now(svc.sys, one, 10s), 2);
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio"), "0");
  caf::anon_send_exit(one, caf::exit_reason::user_shutdown);

  // 0 keeps everything.
  a.sql(audio_insert_sql(1, "CANEW", "segment", 5, "audio/wav", "kept"));
  a.sql("UPDATE call_audio SET created_at = now() - interval '9999 days'");
  audio_job_options forever;
  forever.retention_days = 0;
  forever.import_at_start = false;
  auto keep = caf::actor_cast<audio_jobs_actor>(
    audio_jobs_spec(svc.db, nullptr, forever).spawn(svc.sys));
  EXPECT_EQ(purge_audio_now(svc.sys, keep, 10s), 0);
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio"), "1");
  caf::anon_send_exit(keep, caf::exit_reason::user_shutdown);
}

// -- erasure
// --------------------------------------------------------------------

TEST(audio, deleting_a_lead_erases_its_calls_audio_transcripts_and_summaries) {
  crm_app a;
  auto owner = a.new_token(1, "owner").token;
  auto port = a.app().port();
  auto gone = a.new_lead(owner, R"({"name":"erase me","phone":"0501111111"})");
  auto kept = a.new_lead(owner, R"({"name":"keep me","phone":"0502222222"})");
  insert_call(a, 1, "CAE1", std::to_string(gone));
  insert_call(a, 1, "CAE2", std::to_string(gone));
  insert_call(a, 1, "CAK", std::to_string(kept));
  a.sql("UPDATE calls SET summary = 'secret summary',"
        " summary_fields = '{\"city\":\"חיפה\"}'");
  a.sql("UPDATE calls SET recording_path = 'CAE1/old.wav'"
        " WHERE call_sid = 'CAE1'");
  a.sql("INSERT INTO call_segments (business_id, call_sid, seq, path,"
        " duration_ms) VALUES (1, 'CAE2', 1, 'CAE2/1.wav', 10)");
  for (auto sid : {"CAE1", "CAE2", "CAK"}) {
    std::string s = sid;
    a.sql(audio_insert_sql(1, s, "segment", 1, "audio/wav", pattern(300000)));
    a.sql(audio_insert_sql(1, s, "recording", 0, "audio/wav", "rec " + s));
    a.sql("INSERT INTO call_events (business_id, call_sid, seq, kind, detail)"
          " VALUES (1, '"
          + s
          + "', 1, 'transcript', '{\"text\":\"secret\"}'),"
            " (1, '"
          + s
          + "', 2, 'dtmf', '{\"digit\":\"1\"}'),"
            " (1, '"
          + s + "', 3, 'transcript_gap', '{}')");
  }
  // The same call sid pattern in another business stays untouched.
  auto other = a.new_business("Other");
  insert_call(a, other, "CAO");
  a.sql(audio_insert_sql(other, "CAO", "segment", 1, "audio/wav", "theirs"));

  auto del = a.call("DELETE", "/api/crm/leads/" + std::to_string(gone), owner);
  ASSERT_EQ(del.status, 200) << del.body;
  for (auto sid : {"CAE1", "CAE2"}) {
    std::string s = sid;
    EXPECT_EQ(
      a.sql("SELECT count(*) FROM call_audio WHERE call_sid = '" + s + "'"),
      "0");
    EXPECT_EQ(a.sql("SELECT string_agg(kind, ',') FROM call_events"
                    " WHERE call_sid = '"
                    + s + "'"),
              "dtmf");
    EXPECT_EQ(a.sql("SELECT coalesce(summary, 'null') || coalesce("
                    "summary_fields::text, 'null') FROM calls WHERE call_sid"
                    " = '"
                    + s + "'"),
              "nullnull");
    // The call stays, without its lead.
    EXPECT_EQ(a.sql("SELECT coalesce(lead_id::text, 'none') FROM calls"
                    " WHERE call_sid = '"
                    + s + "'"),
              "none");
    EXPECT_EQ(get(port, "/api/crm/calls/" + s + "/recording", owner).status,
              404);
    EXPECT_EQ(get(port, "/api/crm/calls/" + s + "/segments/1", owner).status,
              404);
    auto d = a.call("GET", "/api/crm/calls/" + s, owner);
    EXPECT_TRUE(d.obj().at("recording_url").is_null());
    EXPECT_TRUE(d.obj().at("segments").as_array().empty());
    EXPECT_TRUE(d.obj().at("transcript").as_array().empty());
  }
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_segments"), "0");
  EXPECT_EQ(a.sql("SELECT coalesce(recording_path, 'none') FROM calls"
                  " WHERE call_sid = 'CAE1'"),
            "none");
  // Chunks of the erased objects are gone too (left: CAK 2 + 1, CAO 1).
  EXPECT_EQ(count(a, "SELECT count(*) FROM call_audio_chunks"), 2 + 1 + 1);
  // The other lead's call and the other business keep everything.
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio WHERE call_sid = 'CAK'"),
            "2");
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_events WHERE call_sid = 'CAK'"),
            "3");
  EXPECT_EQ(a.sql("SELECT summary FROM calls WHERE call_sid = 'CAK'"),
            "secret summary");
  EXPECT_EQ(get(port, "/api/crm/calls/CAK/recording", owner).body, "rec CAK");
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio WHERE call_sid = 'CAO'"),
            "1");
  // Deleting it again, or from another business: 404, nothing erased.
  EXPECT_EQ(
    a.call("DELETE", "/api/crm/leads/" + std::to_string(gone), owner).status,
    404);
  auto stranger = a.new_token(other, "owner").token;
  EXPECT_EQ(
    a.call("DELETE", "/api/crm/leads/" + std::to_string(kept), stranger).status,
    404);
  EXPECT_EQ(a.sql("SELECT count(*) FROM call_audio WHERE call_sid = 'CAK'"),
            "2");
}

// -- import
// ---------------------------------------------------------------------

TEST(audio, the_import_moves_old_files_into_the_database_once) {
  auto cfg = test_config();
  cfg.recordings_dir = empty_dir("import");
  crm_app a{cfg};
  auto owner = a.new_token(1, "owner").token;
  auto port = a.app().port();
  auto dir = fs::path{cfg.recordings_dir};
  insert_call(a, 1, "CAI");
  auto seg = mulaw_wav(pattern(3000));
  auto rec = pattern(chunk + 5, 9);
  write_file(dir / "CAI" / "1.wav", seg);
  write_file(dir / "CAI" / "recording.mp3", rec);
  // Paths that escape the directory are never read.
  auto outside = fs::path{cfg.recordings_dir}.parent_path()
                 / ("outside-" + std::to_string(::getpid()) + ".wav");
  write_file(outside, "SECRET");
  fs::create_symlink(outside, dir / "link.wav");
  a.sql("INSERT INTO call_segments (business_id, call_sid, seq, path,"
        " duration_ms) VALUES (1, 'CAI', 1, 'CAI/1.wav', 375),"
        " (1, 'CAI', 2, 'CAI/missing.wav', 1),"
        " (1, 'CAI', 3, '../"
        + outside.filename().string()
        + "', 1),"
          " (1, 'CAI', 4, '"
        + outside.string()
        + "', 1),"
          " (1, 'CAI', 5, 'link.wav', 1),"
          " (1, 'CAI', 6, '', 1)");
  a.sql("UPDATE calls SET recording_path = 'CAI/recording.mp3'"
        " WHERE call_sid = 'CAI'");
  auto& svc = a.app().svc();
  auto jobs = find_audio_jobs(svc.sys, svc.job_manager);
  ASSERT_TRUE(jobs);
  EXPECT_EQ(import_audio_now(svc.sys, jobs, 20s), 2);

  auto s = get(port, "/api/crm/calls/CAI/segments/1", owner);
  EXPECT_EQ(s.status, 200);
  EXPECT_TRUE(s.body == seg);
  EXPECT_EQ(s.header("content-type"), "audio/wav");
  auto r = get(port, "/api/crm/calls/CAI/recording", owner);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "audio/mpeg");
  EXPECT_TRUE(r.body == rec);
  auto d = a.call("GET", "/api/crm/calls/CAI", owner);
  ASSERT_EQ(d.obj().at("segments").as_array().size(), 1u);
  EXPECT_EQ(d.obj().at("segments").as_array()[0].at("duration_ms").as_int64(),
            375);
  EXPECT_EQ(d.str_at("recording_url"), "/api/crm/calls/CAI/recording");
  for (auto seq : {"2", "3", "4", "5", "6"}) {
    auto e = get(port, std::string{"/api/crm/calls/CAI/segments/"} + seq,
                 owner);
    EXPECT_EQ(e.status, 404) << seq;
    EXPECT_EQ(e.body.find("SECRET"), std::string::npos);
  }
  // Marked: moved ones 'done', the rest 'missing'; none left to look at.
  EXPECT_EQ(a.sql("SELECT string_agg(seq || ':' || audio_import, ','"
                  " ORDER BY seq) FROM call_segments"),
            "1:done,2:missing,3:missing,4:missing,5:missing,6:missing");
  EXPECT_EQ(a.sql("SELECT recording_import FROM calls WHERE call_sid = 'CAI'"),
            "done");
  // Moved: gone from the disk (the outside file stays).
  EXPECT_FALSE(fs::exists(dir / "CAI" / "1.wav"));
  EXPECT_FALSE(fs::exists(dir / "CAI"));
  EXPECT_TRUE(fs::exists(outside));
  // Never retried: a second pass has nothing to do.
  write_file(dir / "CAI" / "missing.wav", "late");
  EXPECT_EQ(import_audio_now(svc.sys, jobs, 20s), 0);
  EXPECT_EQ(get(port, "/api/crm/calls/CAI/segments/2", owner).status, 404);

  // At start: another instance finds a row nobody moved and moves its file.
  insert_call(a, 1, "CAJ");
  a.sql("INSERT INTO call_segments (business_id, call_sid, seq, path,"
        " duration_ms) VALUES (1, 'CAJ', 4, 'CAJ/4.wav', 40)");
  auto b_cfg = same_database(cfg, "import-b");
  write_file(fs::path{b_cfg.recordings_dir} / "CAJ" / "4.wav", "RIFF at start");
  running_app b{b_cfg};
  EXPECT_TRUE(eventually(
    [&] {
      return a.sql("SELECT audio_import FROM call_segments WHERE call_sid"
                   " = 'CAJ'")
             == "done";
    },
    10s));
  EXPECT_EQ(get(port, "/api/crm/calls/CAJ/segments/4", owner).body,
            "RIFF at start");
  fs::remove(outside);
  fs::remove_all(cfg.recordings_dir);
  fs::remove_all(b_cfg.recordings_dir);
}

} // namespace
} // namespace al::test
