// The Bodhi adapters' pure parts: request builders, answer readers, parsers, detection.
#include <fedora/bodhi/operations.hpp>
#include <fedora/http/client.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

namespace bodhi = fedora::bodhi;
namespace json = boost::json;
namespace bhttp = boost::beast::http;
using bodhi::server_version;
using fedora::errc;

namespace {

fedora::http::response make_response(unsigned status, std::string body,
                                     std::vector<std::pair<bhttp::field, std::string>> headers = {})
{
    fedora::http::response r;
    r.message.result(status);
    r.message.body() = std::move(body);
    for (auto& [f, v] : headers)
        r.message.insert(f, v);
    r.final_url = boost::urls::url("http://127.0.0.1:1/bodhi/x");
    return r;
}

bodhi::raw_reply reply_of(server_version v, std::string body)
{
    bodhi::raw_reply r;
    r.version = v;
    r.body = json::parse(body);
    r.status = 200;
    return r;
}

const std::string* field(const fedora::http::form& f, std::string_view k) { return f.find(k); }

} // namespace

TEST_CASE("bodhi detection: api_version answers")
{
    using bodhi::detect_step;
    CHECK(bodhi::classify_api_version(200, R"({"version": "2.0"})").step == detect_step::bodhi2);
    CHECK(bodhi::classify_api_version(200, R"({"version": "2.12.2"})").step == detect_step::bodhi2);
    CHECK(bodhi::classify_api_version(200, R"({"version": "1.0"})").step == detect_step::bodhi1);
    CHECK(bodhi::classify_api_version(200, "<html><body>api_version: 0 updates found</body></html>").step ==
          detect_step::probe_bodhi1);
    CHECK(bodhi::classify_api_version(404, "<h1>Not Found</h1>").step == detect_step::probe_bodhi1);
    auto no_version = bodhi::classify_api_version(200, R"({"status": "ok"})");
    CHECK(no_version.step == detect_step::fail);
    CHECK(no_version.message.find("without a \"version\"") != std::string::npos);
    CHECK(bodhi::classify_api_version(200, R"({"version": 2})").step == detect_step::fail);
    CHECK(bodhi::classify_api_version(200, R"([1, 2])").step == detect_step::fail);
    CHECK(bodhi::classify_api_version(200, R"({"version": "abc"})").step == detect_step::fail);
    CHECK(bodhi::classify_api_version(503, "<html>down</html>").step == detect_step::fail);
    CHECK(bodhi::classify_api_version(403, "").step == detect_step::fail);

    CHECK(bodhi::confirms_bodhi1(200, R"({"releases": [], "tg_flash": null})"));
    CHECK_FALSE(bodhi::confirms_bodhi1(200, R"({"tg_flash": null})"));
    CHECK_FALSE(bodhi::confirms_bodhi1(200, "<html></html>"));
    CHECK_FALSE(bodhi::confirms_bodhi1(500, R"({"releases": []})"));
}

TEST_CASE("bodhi keys, CSRF token, sessions")
{
    CHECK(bodhi::to_bodhi1_key("a-1-1.fc22 b-2-1.fc22") == "a-1-1.fc22,b-2-1.fc22");
    CHECK(bodhi::to_bodhi2_key("a-1-1.fc22,b-2-1.fc22") == "a-1-1.fc22 b-2-1.fc22");
    CHECK(bodhi::to_bodhi2_key("FEDORA-2015-0001") == "FEDORA-2015-0001");
    CHECK(bodhi::bodhi1_csrf_token("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");

    bodhi::session s;
    auto resp = make_response(302, "", {{bhttp::field::set_cookie, "session=s1; Path=/; HttpOnly"},
                                        {bhttp::field::set_cookie, "auth_tkt=t1; Path=/"}});
    s.merge_set_cookies(resp);
    CHECK(s.cookie_header() == "session=s1; auth_tkt=t1");
    auto out = make_response(302, "", {{bhttp::field::set_cookie, "auth_tkt=; Max-Age=0; Path=/; expires=Wed, 31-Dec-97 23:59:59 GMT"},
                                       {bhttp::field::set_cookie, "session=s2; Path=/"},
                                       {bhttp::field::set_cookie, "bad;cookie"}});
    s.merge_set_cookies(out);
    CHECK(s.cookie_header() == "session=s2");
    CHECK(s.valid());
    s.set_cookie("x", "a;b");
    CHECK_FALSE(s.valid());
}

TEST_CASE("bodhi answers: Bodhi 2 Cornice errors become app_error with the entries")
{
    bodhi::raw_reply r;
    auto resp = make_response(400, R"({"status": "error", "errors": [
        {"location": "body", "name": "builds", "description": "Update for foo-1-1.fc22 already exists"},
        {"location": "body", "name": "notes", "description": "Required"}]})");
    auto ec = bodhi::read_bodhi2_answer(resp, true, r);
    CHECK(ec == errc::app_error);
    CHECK(r.diag.message == "Update for foo-1-1.fc22 already exists; Required");
    REQUIRE(r.diag.extras.at("errors").as_array().size() == 2);
    CHECK(r.diag.extras.at("errors").at(1).at("name") == "notes");
    CHECK_FALSE(bodhi::is_csrf_mismatch(r.diag));

    bodhi::raw_reply csrf;
    auto mismatch = make_response(400, R"({"status": "error", "errors": [{"location": "body", "name": "csrf_token", "description": "CSRF tokens do not match"}]})");
    CHECK(bodhi::read_bodhi2_answer(mismatch, true, csrf) == errc::app_error);
    CHECK(bodhi::is_csrf_mismatch(csrf.diag));

    bodhi::raw_reply denied;
    auto anon = make_response(403, R"({"status": "error", "errors": [{"location": "cookies", "name": "auth_tkt", "description": "Access denied"}]})");
    CHECK(bodhi::read_bodhi2_answer(anon, true, denied) == errc::auth_error);
    CHECK(denied.diag.extras.contains("errors"));

    bodhi::raw_reply login;
    auto to_login = make_response(302, "", {{bhttp::field::location, "http://127.0.0.1:1/bodhi/login?came_from=x"}});
    CHECK(bodhi::read_bodhi2_answer(to_login, true, login) == errc::auth_error);

    bodhi::raw_reply pkg;
    auto to_query = make_response(302, "", {{bhttp::field::location, "http://127.0.0.1:1/bodhi/updates/?packages=kernel"}});
    CHECK(bodhi::read_bodhi2_answer(to_query, true, pkg) == errc::server_error);

    bodhi::raw_reply logout;
    auto home = make_response(302, "", {{bhttp::field::location, "http://127.0.0.1:1/bodhi/"}});
    CHECK(!bodhi::read_bodhi2_answer(home, false, logout));

    bodhi::raw_reply html;
    CHECK(bodhi::read_bodhi2_answer(make_response(200, "<html/>"), true, html) == errc::server_error);
    bodhi::raw_reply boom;
    CHECK(bodhi::read_bodhi2_answer(make_response(500, "{}"), true, boom) == errc::server_error);
}

TEST_CASE("bodhi answers: Bodhi 1 statuses and tg_flash failures")
{
    bodhi::raw_reply r;
    auto forbidden = make_response(403, R"({"logging_in": true, "message": "The credentials you supplied were not correct or did not grant access to this resource."})");
    CHECK(bodhi::read_bodhi1_answer(forbidden, r) == errc::auth_error);
    CHECK(r.diag.message.rfind("The credentials you supplied", 0) == 0);

    bodhi::raw_reply ok;
    auto flash = make_response(200, R"({"tg_flash": "Error: You must supply notes for this update"})",
                               {{bhttp::field::set_cookie, "tg-visit=abc; Path=/"}});
    REQUIRE(!bodhi::read_bodhi1_answer(flash, ok));
    CHECK(*ok.session.cookie("tg-visit") == "abc");
    bodhi::save_result saved;
    auto ec = bodhi::v1::parse(bodhi::ops::save_update{}, ok, saved);
    CHECK(ec == errc::app_error);
    CHECK(ok.diag.message == "Error: You must supply notes for this update");
    CHECK(ok.diag.extras.at("errors").at(0).at("location") == "flash");

    bodhi::raw_reply html;
    CHECK(bodhi::read_bodhi1_answer(make_response(200, "<html/>"), html) == errc::server_error);
}

TEST_CASE("bodhi adapters: query updates")
{
    bodhi::ops::query_updates op;
    op.query.packages = {"foo", "bar"};
    op.query.release = "F22";
    op.query.type = "bugfix";
    op.query.bugs = {1, 2};
    op.query.mine = true;
    op.query.page = 3;
    op.query.rows_per_page = 50;
    auto alice = bodhi::auth_params::credentials("alice", "alice-pass");

    auto b1 = bodhi::v1::build(op, alice);
    CHECK(!b1.refused);
    CHECK(b1.method == bhttp::verb::post);
    CHECK(b1.path == "list");
    CHECK(b1.needs_auth);
    CHECK(b1.safe_to_repeat);
    CHECK(*field(b1.form, "type_") == "bugfix");
    CHECK(*field(b1.form, "mine") == "True");
    CHECK(*field(b1.form, "updates_tgp_limit") == "50");
    CHECK(*field(b1.form, "updates_tgp_no") == "3");
    CHECK(*field(b1.form, "bugs") == "1,2");

    auto b2 = bodhi::v2::build(op, alice);
    CHECK(!b2.refused);
    CHECK(b2.method == bhttp::verb::get);
    CHECK(b2.path == "updates/");
    CHECK(!b2.needs_auth);
    CHECK(*field(b2.query, "packages") == "foo,bar");
    CHECK(*field(b2.query, "releases") == "F22");
    CHECK(*field(b2.query, "type") == "bugfix");
    CHECK(*field(b2.query, "user") == "alice");
    CHECK(*field(b2.query, "page") == "3");
    CHECK(*field(b2.query, "rows_per_page") == "50");

    op.query.mine = false;
    op.query.critpath = true;
    auto unsupported = bodhi::v1::build(op, alice);
    CHECK(unsupported.refused == errc::not_supported);
    CHECK(unsupported.refused_message.find("not supported by Bodhi 1") != std::string::npos);
    op.query.critpath.reset();
    op.query.rows_per_page = 101;
    CHECK(bodhi::v1::build(op, alice).refused == errc::invalid_argument);
    CHECK(bodhi::v2::build(op, alice).refused == errc::invalid_argument);
    op.query.rows_per_page = 10;
    op.query.mine = true;
    CHECK(bodhi::v2::build(op, bodhi::auth_params::anonymous()).refused == errc::invalid_argument);
}

TEST_CASE("bodhi adapters: one update model from both servers")
{
    auto b1 = reply_of(server_version::bodhi1, R"J({"updates": [{"title": "python-fedora-0.5.5-1.fc22",
      "builds": [{"nvr": "python-fedora-0.5.5-1.fc22", "package": {"name": "python-fedora", "suggest_reboot": false}}],
      "submitter": "ralph", "updateid": "FEDORA-2015-13628", "type": "bugfix",
      "bugs": [{"bz_id": 1254621, "title": "bodhi client fails", "security": false, "parent": false}],
      "release": {"name": "F22", "long_name": "Fedora 22", "id_prefix": "FEDORA", "dist_tag": "f22", "locked": false},
      "status": "testing", "notes": "Bodhi 2 support.", "request": null, "date_pushed": "2015-08-20 17:03:11",
      "comments": [{"author": "lmacken (releng)", "group": "releng", "text": "ok", "anonymous": false, "karma": 1,
                    "timestamp": "2015-08-20 17:03:12"}],
      "karma": 1, "stable_karma": 3, "unstable_karma": -3, "critpath": false, "critpath_approved": false}],
      "num_items": 21, "title": "21 updates found", "tg_flash": null})J");
    bodhi::ops::query_updates q1;
    q1.query.rows_per_page = 10;
    q1.query.page = 2;
    bodhi::page<bodhi::update> p1;
    REQUIRE(!bodhi::v1::parse(q1, b1, p1));
    CHECK(p1.total == 21);
    CHECK(p1.pages == 3);
    CHECK(p1.number == 2);
    REQUIRE(p1.rows.size() == 1);
    const auto& u1 = p1.rows[0];
    CHECK(u1.key == "python-fedora-0.5.5-1.fc22");
    CHECK(u1.alias == "FEDORA-2015-13628");
    CHECK(u1.bugs.at(0).id == 1254621);
    CHECK(u1.builds.at(0).package == "python-fedora");
    CHECK(u1.comments.at(0).author == "lmacken");
    CHECK(u1.comments.at(0).group == "releng");
    CHECK(u1.request.empty());
    CHECK(u1.pushed);
    CHECK(u1.autokarma == true);

    auto b2 = reply_of(server_version::bodhi2, R"({"updates": [{"title": "foo-1.2-1.fc22", "alias": "FEDORA-2015-4c2d1e9f0a",
      "user": {"name": "alice"}, "karma": 1, "stable_karma": 3, "unstable_karma": -3, "status": "testing", "request": null,
      "severity": "unspecified", "suggest": "reboot", "pushed": true,
      "release": {"name": "F22", "candidate_tag": "f22-updates-candidate", "state": "current"},
      "builds": [{"nvr": "foo-1.2-1.fc22", "override": null}],
      "bugs": [{"bug_id": 123456, "title": "foo crashes"}],
      "comments": [{"id": 9001, "karma": 1, "karma_critpath": 1, "text": "Works", "user": {"name": "bob"}}]}],
      "page": 1, "pages": 1, "rows_per_page": 20, "total": 1})");
    bodhi::page<bodhi::update> p2;
    REQUIRE(!bodhi::v2::parse(bodhi::ops::query_updates{}, b2, p2));
    REQUIRE(p2.rows.size() == 1);
    const auto& u2 = p2.rows[0];
    CHECK(u2.key == "FEDORA-2015-4c2d1e9f0a");
    CHECK(u2.submitter == "alice");
    CHECK(u2.builds.at(0).package == "foo");
    CHECK(u2.bugs.at(0).id == 123456);
    CHECK(u2.comments.at(0).author == "bob");
    CHECK(u2.comments.at(0).karma_critpath == 1);
    CHECK(u2.release.candidate_tag == "f22-updates-candidate");
    CHECK(p2.total == 1);
}

TEST_CASE("bodhi adapters: writes")
{
    auto alice = bodhi::auth_params::credentials("alice", "alice-pass");
    bodhi::ops::save_update save;
    save.fields.builds = {"foo-1-1.fc22", "foo-1-1.fc21"};
    save.fields.notes = "n";
    save.fields.edited = "foo-1-0.fc22 foo-1-0.fc21";
    auto s1 = bodhi::v1::build(save, alice);
    CHECK(!s1.safe_to_repeat);
    CHECK(s1.needs_auth);
    CHECK(*field(s1.form, "builds") == "foo-1-1.fc22,foo-1-1.fc21");
    CHECK(*field(s1.form, "edited") == "foo-1-0.fc22,foo-1-0.fc21");
    CHECK(*field(s1.form, "suggest_reboot") == "False");
    auto s2 = bodhi::v2::build(save, alice);
    CHECK(!s2.safe_to_repeat);
    CHECK(s2.needs_csrf);
    REQUIRE(s2.json);
    CHECK(s2.json->at("builds").as_array().size() == 2);
    CHECK(s2.json->at("edited") == "foo-1-0.fc22 foo-1-0.fc21");
    save.fields.severity = "high";
    CHECK(bodhi::v1::build(save, alice).refused == errc::not_supported);

    bodhi::ops::request_update req{"FEDORA-2015-0001", "stable"};
    auto r2 = bodhi::v2::build(req, alice);
    CHECK(r2.path == "updates/FEDORA-2015-0001/request");
    CHECK(r2.json->at("request") == "stable");
    auto r1 = bodhi::v1::build(req, alice);
    CHECK(*field(r1.form, "action") == "stable");
    CHECK(bodhi::v2::build(bodhi::ops::request_update{"..", "stable"}, alice).refused == errc::invalid_argument);

    bodhi::ops::comment c;
    c.fields.update = "FEDORA-2015-0001";
    c.fields.karma = 1;
    c.fields.karma_critpath = -1;
    c.fields.bug_feedback = {{42, 1}};
    auto c2 = bodhi::v2::build(c, alice);
    CHECK(c2.path == "comments/");
    CHECK(c2.json->at("karma_critpath") == -1);
    CHECK(c2.json->at("bug_feedback").at(0).at("bug_id") == 42);
    auto c1 = bodhi::v1::build(c, alice);
    CHECK(c1.refused == errc::not_supported);
    CHECK(c1.refused_message == "critical path karma is not supported by Bodhi 1");

    CHECK(bodhi::v2::build(bodhi::ops::delete_update{"x"}, alice).refused == errc::not_supported);
    CHECK(bodhi::v1::build(bodhi::ops::query_packages{}, alice).refused == errc::not_supported);

    bodhi::ops::save_override o;
    o.fields.nvrs = {"foo-1-1.fc22"};
    o.fields.notes = "needed";
    o.fields.expiration_date = "2015-09-20 12:00:00";
    CHECK(*field(bodhi::v1::build(o, alice).form, "expiration") == "09/20/2015");
    CHECK(bodhi::v2::build(o, alice).json->at("expiration_date") == "2015-09-20 12:00:00");
    o.fields.expiration_date = "soon";
    CHECK(bodhi::v1::build(o, alice).refused == errc::invalid_argument);
}

TEST_CASE("bodhi adapters: Bodhi 1 request success is told from the flash")
{
    bodhi::ops::request_update op{"foo-1-1.fc22", "stable"};
    auto ok = reply_of(server_version::bodhi1, R"({"update": {"title": "foo-1-1.fc22", "request": "testing"},
        "tg_flash": "foo-1-1.fc22 has been submitted for testing. This update has not yet met the minimum testing requirements."})");
    bodhi::request_result out;
    REQUIRE(!bodhi::v1::parse(op, ok, out));
    CHECK(out.update.request == "testing");
    REQUIRE(out.caveats.size() == 1);
    auto refused = reply_of(server_version::bodhi1, R"({"update": {"title": "foo-1-1.fc22"},
        "tg_flash": "bob does not have commit access to foo"})");
    CHECK(bodhi::v1::parse(op, refused, out) == errc::app_error);
    CHECK(refused.diag.message == "bob does not have commit access to foo");
}
