// fedora::bodhi::client against the emulated Bodhi 1 and Bodhi 2, one suite for both: every
// logical operation runs on each server; what one version cannot do must fail with
// not_supported. Bodhi 2's OpenID provider runs on another origin (its own server).
#include "support.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>

#include <doctest/doctest.h>

#include <set>
#include <type_traits>

using namespace test_support;
namespace bodhi = fedora::bodhi;
namespace emu = fedora::emulator;
using bodhi::server_version;
using fedora::errc;

namespace {

constexpr emu::bodhi_time start_time = 1442318400;  // 2015-09-15 12:00:00 UTC

struct bodhi_site
{
    std::shared_ptr<emu::bodhi_data> data;
    std::shared_ptr<emu::bodhi1_application> b1;
    std::shared_ptr<emu::bodhi2_application> b2;
    std::shared_ptr<emu::server> server;    // Bodhi 1 under /updates, Bodhi 2 under /bodhi
    std::shared_ptr<emu::server> provider;  // the OpenID provider: another origin

    explicit bodhi_site(std::size_t bulk = 0)
    {
        emu::bodhi_data_params dp;
        dp.updates = 60;
        dp.bulk_updates = bulk;
        dp.start_time = start_time;
        data = std::make_shared<emu::bodhi_data>(dp);
        b1 = std::make_shared<emu::bodhi1_application>(data);
        b2 = std::make_shared<emu::bodhi2_application>(data);
        emu::server_params sp;
        sp.threads = 2;
        server = std::make_shared<emu::server>(sp);
        server->mount("/updates", b1);
        server->mount("/bodhi", b2);
        server->start();
        provider = std::make_shared<emu::server>(sp);
        provider->mount("/id", std::make_shared<emu::openid_provider_application>(data));
        provider->start();
        b2->set_openid_endpoint(provider->origin() + "/id/openid/");
    }

    std::string base(server_version v) const
    {
        return server->origin() + (v == server_version::bodhi1 ? "/updates/" : "/bodhi/");
    }

    bodhi::client_params params(server_version v, bool pin = false) const
    {
        bodhi::client_params p;
        p.base_url = base(v);
        p.openid_api_url = provider->origin() + "/id/api/v1/";
        if (pin)
            p.version = v;
        return p;
    }

    std::size_t hits(const std::string& path) const
    {
        auto s = server->stats();
        auto it = s.requests_per_path.find(path);
        return it == s.requests_per_path.end() ? 0 : it->second;
    }

    std::string in_days(int days) const { return emu::format_bodhi_time(data->now() + days * 86400); }
};

template <class T>
struct result
{
    fedora::error_code ec;
    bodhi::reply<T> r;
};

// Runs one Bodhi call (a function taking a completion token) to completion.
template <class T, class F>
result<T> call(asio::io_context& ioc, F f)
{
    result<T> out;
    f([&](fedora::error_code ec, bodhi::reply<T> r) {
        out.ec = ec;
        out.r = std::move(r);
    });
    ioc.restart();
    ioc.run();
    return out;
}

#define REQUIRE_OK(res) REQUIRE_MESSAGE(!(res).ec, (res).ec.message() << ": " << (res).r.diag.message)
#define CHECK_OK(res) CHECK_MESSAGE(!(res).ec, (res).ec.message() << ": " << (res).r.diag.message)

template <class T>
void check_not_supported(const result<T>& res, server_version v)
{
    CHECK(res.ec == errc::not_supported);
    CHECK_MESSAGE(res.r.diag.message.find(std::string("not supported by ") + std::string(bodhi::to_string(v))) !=
                      std::string::npos,
                  res.r.diag.message);
}

template <class T>
bool has_error_entries(const result<T>& res)
{
    const auto* e = res.r.diag.extras.if_contains("errors");
    return e && e->is_array() && !e->get_array().empty();
}

// Answers every request with the same HTML page.
class html_app final : public emu::application
{
public:
    emu::http_response handle(const emu::http_request&, const emu::request_context&) override
    {
        emu::http_response res{boost::beast::http::status::ok, 11};
        res.set(boost::beast::http::field::content_type, "text/html");
        res.body() = "<html><body>Welcome</body></html>";
        res.prepare_payload();
        return res;
    }
};

template <int N>
using version_t = std::integral_constant<int, N>;

constexpr server_version version_of(int n) { return n == 1 ? server_version::bodhi1 : server_version::bodhi2; }

} // namespace

TEST_CASE_TEMPLATE("bodhi client: every logical operation", V, version_t<1>, version_t<2>)
{
    constexpr server_version v = version_of(V::value);
    bodhi_site site;
    asio::io_context ioc;
    bodhi::client client(ioc.get_executor(), site.params(v));
    const auto alice = bodhi::auth_params::credentials("alice", "alice-pass");
    const auto bob = bodhi::auth_params::credentials("bob", "bob-pass");
    const auto anonymous = bodhi::auth_params::anonymous();

    // Detection: once, cached.
    CHECK(!client.version());
    auto det = call<server_version>(ioc, [&](auto h) { client.async_detect(h); });
    REQUIRE_OK(det);
    CHECK(det.r.value == v);
    CHECK(client.version() == v);
    const std::size_t probes = site.hits(site.base(v).substr(site.server->origin().size()) + "api_version");
    CHECK(probes == 1);

    // Reads.
    auto releases = call<std::vector<bodhi::release>>(ioc, [&](auto h) { client.async_releases(anonymous, h); });
    REQUIRE_OK(releases);
    CHECK(releases.r.version == v);
    CHECK(releases.r.value.size() == 5);
    CHECK(std::any_of(releases.r.value.begin(), releases.r.value.end(), [](auto& r) { return r.name == "F22"; }));

    bodhi::update_query q;
    q.rows_per_page = 7;
    auto first = call<bodhi::page<bodhi::update>>(ioc, [&](auto h) { client.async_query_updates(q, anonymous, h); });
    REQUIRE_OK(first);
    CHECK(first.r.value.rows.size() == 7);
    CHECK(first.r.value.total == 60);
    CHECK(first.r.value.pages == 9);
    CHECK(first.r.value.number == 1);
    CHECK(first.r.value.rows_per_page == 7);
    for (const auto& u : first.r.value.rows) {
        CHECK(!u.key.empty());
        CHECK(!u.builds.empty());
        CHECK(!u.release.name.empty());
        if (v == server_version::bodhi2)
            CHECK(u.key == u.alias);
        else
            CHECK(u.key == u.title);
    }

    bodhi::update_query filtered;
    filtered.status = "testing";
    filtered.release = "F22";
    filtered.rows_per_page = 100;
    auto testing = call<bodhi::page<bodhi::update>>(ioc, [&](auto h) { client.async_query_updates(filtered, anonymous, h); });
    REQUIRE_OK(testing);
    for (const auto& u : testing.r.value.rows) {
        CHECK(u.status == "testing");
        CHECK(u.release.name == "F22");
    }

    const std::string some_key = first.r.value.rows[3].key;
    auto one = call<bodhi::update>(ioc, [&](auto h) { client.async_get_update(some_key, anonymous, h); });
    REQUIRE_OK(one);
    CHECK(one.r.value.key == some_key);
    auto missing = call<bodhi::update>(ioc, [&](auto h) { client.async_get_update("nope-1.0-1.fc22", anonymous, h); });
    CHECK(missing.ec == errc::app_error);
    CHECK(has_error_entries(missing));

    bodhi::update_query bad_paging;
    bad_paging.rows_per_page = 0;
    site.server->reset_stats();
    auto refused = call<bodhi::page<bodhi::update>>(ioc, [&](auto h) { client.async_query_updates(bad_paging, anonymous, h); });
    CHECK(refused.ec == errc::invalid_argument);
    CHECK(site.server->stats().requests_total == 0);

    auto latest = call<std::vector<std::pair<std::string, std::string>>>(
        ioc, [&](auto h) { client.async_latest_builds("kernel", anonymous, h); });
    REQUIRE_OK(latest);
    CHECK(!latest.r.value.empty());
    for (auto& [tag, nvr] : latest.r.value) {
        CHECK(tag != "tg_flash");
        CHECK(nvr.rfind("kernel-", 0) == 0);
    }

    auto tags = call<std::vector<std::string>>(ioc, [&](auto h) { client.async_candidate_tags(anonymous, h); });
    REQUIRE_OK(tags);
    std::set<std::string> tag_set(tags.r.value.begin(), tags.r.value.end());
    CHECK(tag_set.count("f22-updates-candidate"));
    CHECK(tag_set.count("epel7-testing-candidate"));
    CHECK(!tag_set.count("f23-updates-candidate"));

    auto critpath = call<std::vector<bodhi::update>>(ioc, [&](auto h) { client.async_critpath_updates("", false, anonymous, h); });
    REQUIRE_OK(critpath);
    CHECK(!critpath.r.value.empty());
    for (const auto& u : critpath.r.value) {
        CHECK(u.critpath);
        CHECK((u.status == "pending" || u.status == "testing"));
    }
    auto untested = call<std::vector<bodhi::update>>(ioc, [&](auto h) { client.async_critpath_updates("", true, anonymous, h); });
    if (v == server_version::bodhi1) {
        REQUIRE_OK(untested);
        for (const auto& u : untested.r.value)
            CHECK(u.critpath_approved == false);
    } else {
        check_not_supported(untested, v);
    }

    // Bodhi 2 only reads.
    bodhi::package_query pq;
    pq.like = "python";
    auto packages = call<bodhi::page<bodhi::package>>(ioc, [&](auto h) { client.async_query_packages(pq, anonymous, h); });
    bodhi::comment_query cq;
    cq.rows_per_page = 3;
    auto comments = call<bodhi::page<bodhi::comment>>(ioc, [&](auto h) { client.async_query_comments(cq, anonymous, h); });
    if (v == server_version::bodhi2) {
        REQUIRE_OK(packages);
        CHECK(!packages.r.value.rows.empty());
        for (auto& p : packages.r.value.rows)
            CHECK(p.name.find("python") != std::string::npos);
        REQUIRE_OK(comments);
        CHECK(comments.r.value.rows.size() == 3);
    } else {
        check_not_supported(packages, v);
        check_not_supported(comments, v);
    }

    // Writes need an identity: refused before any I/O without one.
    bodhi::update_fields fields;
    fields.builds = {"foo-9.0-1.fc22"};
    fields.notes = "Fix crash";
    fields.bugs = {123456};
    site.server->reset_stats();
    auto no_identity = call<bodhi::save_result>(ioc, [&](auto h) { client.async_save_update(fields, anonymous, h); });
    CHECK(no_identity.ec == errc::auth_error);
    CHECK(site.server->stats().requests_total == 0);

    // Login, then work with the session.
    auto login = call<bodhi::login_info>(ioc, [&](auto h) { client.async_login("alice", "alice-pass", h); });
    REQUIRE_OK(login);
    CHECK(login.r.value.username == "alice");
    CHECK(login.r.session.username == "alice");
    CHECK(login.r.session.origin == site.server->origin());
    if (v == server_version::bodhi1) {
        CHECK(login.r.session.cookie("tg-visit"));
    } else {
        CHECK(login.r.session.cookie("auth_tkt"));
        CHECK(login.r.session.cookie("session"));
        CHECK(!login.r.session.csrf_token.empty());
    }
    auto wrong = call<bodhi::login_info>(ioc, [&](auto h) { client.async_login("alice", "nope", h); });
    CHECK(wrong.ec == errc::auth_error);
    auto as_alice = bodhi::auth_params::with_session(login.r.session);

    // Create.
    auto created = call<bodhi::save_result>(ioc, [&](auto h) { client.async_save_update(fields, as_alice, h); });
    REQUIRE_OK(created);
    REQUIRE(created.r.value.updates.size() == 1);
    const bodhi::update made = created.r.value.updates[0];
    CHECK(made.title == "foo-9.0-1.fc22");
    CHECK(made.submitter == "alice");
    CHECK(made.status == "pending");
    CHECK(made.request == "testing");
    REQUIRE(made.bugs.size() == 1);
    CHECK(made.bugs[0].id == 123456);
    if (v == server_version::bodhi2)
        CHECK(made.alias.rfind("FEDORA-2015-", 0) == 0);
    else
        CHECK(made.alias.empty());  // Bodhi 1: no update ID before the first push
    auto again = call<bodhi::save_result>(ioc, [&](auto h) { client.async_save_update(fields, as_alice, h); });
    CHECK(again.ec == errc::app_error);
    CHECK(has_error_entries(again));
    CHECK(again.r.diag.message.find("already") != std::string::npos);

    // Edit (the key names it).
    auto edit = fields;
    edit.notes = "Fix the crash for good";
    edit.edited = made.key;
    auto edited = call<bodhi::save_result>(ioc, [&](auto h) { client.async_save_update(edit, as_alice, h); });
    REQUIRE_OK(edited);
    REQUIRE(edited.r.value.updates.size() == 1);
    CHECK(edited.r.value.updates[0].notes == "Fix the crash for good");
    CHECK(edited.r.value.updates[0].key == made.key);

    // Version-specific save fields.
    auto b2_fields = fields;
    b2_fields.builds = {"foo-9.1-1.fc22"};
    b2_fields.severity = "low";
    auto severity = call<bodhi::save_result>(ioc, [&](auto h) { client.async_save_update(b2_fields, as_alice, h); });
    if (v == server_version::bodhi1)
        check_not_supported(severity, v);
    else
        CHECK_OK(severity);

    // Requests: revoke, then testing again; bob may not.
    auto revoke = call<bodhi::request_result>(ioc, [&](auto h) { client.async_request(made.key, "revoke", as_alice, h); });
    REQUIRE_OK(revoke);
    CHECK(revoke.r.value.update.request.empty());
    auto to_testing = call<bodhi::request_result>(ioc, [&](auto h) { client.async_request(made.key, "testing", as_alice, h); });
    REQUIRE_OK(to_testing);
    CHECK(to_testing.r.value.update.request == "testing");
    auto by_bob = call<bodhi::request_result>(ioc, [&](auto h) { client.async_request(made.key, "revoke", bob, h); });
    CHECK(by_bob.ec == errc::app_error);
    CHECK(by_bob.r.diag.message.find("bob does not have commit access to foo") != std::string::npos);
    site.data->push_requests();
    auto too_early = call<bodhi::request_result>(ioc, [&](auto h) { client.async_request(made.key, "stable", as_alice, h); });
    CHECK(too_early.ec == errc::app_error);
    CHECK(has_error_entries(too_early));

    // Comments and karma (bob by credentials; alice's own vote is not counted).
    bodhi::comment_fields cf;
    cf.update = made.key;
    cf.text = "Works for me";
    cf.karma = 1;
    auto bob_says = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(cf, bob, h); });
    REQUIRE_OK(bob_says);
    CHECK(bob_says.r.value.comment.text == "Works for me");
    CHECK(bob_says.r.value.comment.author == "bob");
    CHECK(bob_says.r.value.update.karma == 1);
    CHECK(bob_says.r.session.username == "bob");
    cf.text = "mine";
    auto own = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(cf, as_alice, h); });
    REQUIRE_OK(own);
    CHECK(own.r.value.comment.karma == 0);
    CHECK(own.r.value.update.karma == 1);
    REQUIRE(!own.r.value.caveats.empty());
    CHECK(own.r.value.caveats[0].description == "You may not give karma to your own updates.");
    cf.karma = 5;
    auto bad_karma = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(cf, as_alice, h); });
    CHECK(bad_karma.ec == errc::app_error);
    CHECK(has_error_entries(bad_karma));

    bodhi::comment_fields critpath_karma;
    critpath_karma.update = made.key;
    critpath_karma.text = "critpath ok";
    critpath_karma.karma_critpath = 1;
    critpath_karma.bug_feedback = {{123456, 1}};
    auto b2_comment = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(critpath_karma, bob, h); });
    bodhi::comment_fields anon;
    anon.update = made.key;
    anon.text = "anonymous fan";
    anon.anonymous_email = "fan@example.com";
    auto anon_comment = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(anon, anonymous, h); });
    if (v == server_version::bodhi2) {
        REQUIRE_OK(b2_comment);
        CHECK(b2_comment.r.value.comment.karma_critpath == 1);
        REQUIRE_OK(anon_comment);
        CHECK(anon_comment.r.value.comment.anonymous);
    } else {
        check_not_supported(b2_comment, v);
        check_not_supported(anon_comment, v);
    }

    // Delete: Bodhi 1 only (Bodhi 2's nearest is request unpush).
    auto doomed_fields = fields;
    doomed_fields.builds = {"foo-10.0-1.fc22"};
    doomed_fields.bugs.clear();
    auto doomed = call<bodhi::save_result>(ioc, [&](auto h) { client.async_save_update(doomed_fields, as_alice, h); });
    REQUIRE_OK(doomed);
    const std::string doomed_key = doomed.r.value.updates.at(0).key;
    auto deleted = call<std::string>(ioc, [&](auto h) { client.async_delete_update(doomed_key, as_alice, h); });
    if (v == server_version::bodhi1) {
        REQUIRE_OK(deleted);
        CHECK(deleted.r.value == "Deleted foo-10.0-1.fc22");
        auto gone = call<bodhi::update>(ioc, [&](auto h) { client.async_get_update(doomed_key, anonymous, h); });
        CHECK(gone.ec == errc::app_error);
        auto not_pushed = call<std::string>(ioc, [&](auto h) { client.async_delete_update(made.key, as_alice, h); });
        CHECK(not_pushed.ec == errc::app_error);
        CHECK(not_pushed.r.diag.message == "Cannot delete a pushed update");
    } else {
        check_not_supported(deleted, v);
    }
    // Unpush works on both (the update was pushed to testing above).
    auto unpushed = call<bodhi::request_result>(ioc, [&](auto h) { client.async_request(made.key, "unpush", as_alice, h); });
    REQUIRE_OK(unpushed);
    CHECK((unpushed.r.value.update.status == "pending" || unpushed.r.value.update.status == "unpushed"));

    // Buildroot overrides: create, list, expire.
    bodhi::override_fields of;
    of.nvrs = {"foo-7.0-1.fc22"};
    of.notes = "needed for bar";
    of.expiration_date = site.in_days(7);
    auto made_override = call<bodhi::override_result>(ioc, [&](auto h) { client.async_save_override(of, as_alice, h); });
    REQUIRE_OK(made_override);
    REQUIRE(made_override.r.value.overrides.size() == 1);
    CHECK(made_override.r.value.overrides[0].nvr == "foo-7.0-1.fc22");
    CHECK(!made_override.r.value.overrides[0].expired());
    CHECK(made_override.r.value.overrides[0].expiration_date.rfind(site.in_days(7).substr(0, 10), 0) == 0);
    auto dup = call<bodhi::override_result>(ioc, [&](auto h) { client.async_save_override(of, as_alice, h); });
    CHECK(dup.ec == errc::app_error);

    auto listed = [&](std::optional<bool> expired) {
        bodhi::override_query oq;
        oq.mine = true;
        oq.expired = expired;
        oq.rows_per_page = 100;
        auto res = call<bodhi::page<bodhi::override_record>>(ioc, [&](auto h) { client.async_query_overrides(oq, as_alice, h); });
        REQUIRE_OK(res);
        for (auto& o : res.r.value.rows) {
            CHECK(o.submitter == "alice");
            if (o.nvr == "foo-7.0-1.fc22")
                return true;
        }
        return false;
    };
    CHECK(listed(std::nullopt));
    CHECK(listed(false));
    auto got = call<bodhi::override_record>(ioc, [&](auto h) { client.async_get_override("foo-7.0-1.fc22", as_alice, h); });
    REQUIRE_OK(got);
    CHECK(got.r.value.notes == "needed for bar");
    auto expired = call<std::string>(ioc, [&](auto h) { client.async_expire_override("foo-7.0-1.fc22", as_alice, h); });
    REQUIRE_OK(expired);
    CHECK(!listed(false));
    CHECK(listed(std::nullopt));
    // Expiring again is not a re-enable.
    auto twice = call<std::string>(ioc, [&](auto h) { client.async_expire_override("foo-7.0-1.fc22", as_alice, h); });
    if (v == server_version::bodhi2) {
        CHECK_OK(twice);
        CHECK(!listed(false));
    }

    // Logout: the session stops working.
    auto logout = call<bodhi::none>(ioc, [&](auto h) { client.async_logout(login.r.session, h); });
    REQUIRE_OK(logout);
    auto after = call<bodhi::request_result>(ioc, [&](auto h) { client.async_request(made.key, "testing", as_alice, h); });
    CHECK(after.ec == errc::auth_error);

    // Only one api_version probe for everything above.
    CHECK(site.hits(site.base(v).substr(site.server->origin().size()) + "api_version") == 0);
}

TEST_CASE_TEMPLATE("bodhi client: 1,001 updates with all pages, no duplicates, none missing", V, version_t<1>,
                   version_t<2>)
{
    constexpr server_version v = version_of(V::value);
    bodhi_site site(1001);
    asio::io_context ioc;
    bodhi::client client(ioc.get_executor(), site.params(v));
    bodhi::update_query q;
    q.packages = {"bulk-pkg"};
    q.release = "F22";
    q.rows_per_page = 100;
    site.server->reset_stats();
    auto all = call<std::vector<bodhi::update>>(ioc, [&](auto h) { client.async_query_all_updates(q, {}, h); });
    REQUIRE_OK(all);
    std::set<std::string> keys;
    for (const auto& u : all.r.value)
        keys.insert(u.key);
    CHECK(all.r.value.size() == 1001);
    CHECK(keys.size() == 1001);
    auto expected = site.data->read([&](const emu::bodhi_state& s) {
        emu::update_filter f;
        f.packages = {"bulk-pkg"};
        std::set<std::string> out;
        for (auto id : s.query_updates(f))
            out.insert(v == server_version::bodhi1 ? s.title(*s.update(id), ',') : s.update(id)->alias);
        return out;
    });
    CHECK(expected.size() == 1001);
    CHECK(keys == expected);
    // 11 pages + the detection probe(s).
    const std::string list_path = v == server_version::bodhi1 ? "/updates/list" : "/bodhi/updates/";
    CHECK(site.hits(list_path) == 11);
}

TEST_CASE("bodhi client: detection")
{
    bodhi_site site;
    asio::io_context ioc;

    SUBCASE("pinned: no probe")
    {
        bodhi::client c(ioc.get_executor(), site.params(server_version::bodhi1, true));
        CHECK(c.version() == server_version::bodhi1);
        auto rel = call<std::vector<bodhi::release>>(ioc, [&](auto h) { c.async_releases({}, h); });
        REQUIRE_OK(rel);
        CHECK(site.hits("/updates/api_version") == 0);
        CHECK(rel.r.value.at(0).name.size() > 0);
    }
    SUBCASE("Bodhi 1's api_version is an HTML page: confirmed with POST releases")
    {
        bodhi::client c(ioc.get_executor(), site.params(server_version::bodhi1));
        auto d = call<server_version>(ioc, [&](auto h) { c.async_detect(h); });
        REQUIRE_OK(d);
        CHECK(d.r.value == server_version::bodhi1);
        CHECK(site.hits("/updates/api_version") == 1);
        CHECK(site.hits("/updates/releases") == 1);
    }
    SUBCASE("concurrent first calls agree")
    {
        bodhi::client c(ioc.get_executor(), site.params(server_version::bodhi2));
        int done = 0;
        for (int i = 0; i < 4; ++i)
            c.async_detect([&](fedora::error_code ec, bodhi::reply<server_version> r) {
                CHECK(!ec);
                CHECK(r.value == server_version::bodhi2);
                ++done;
            });
        ioc.run();
        CHECK(done == 4);
        CHECK(c.version() == server_version::bodhi2);
    }
    SUBCASE("JSON without version: refused with a clear error")
    {
        auto echo = start_echo_server();
        bodhi::client_params p;
        p.base_url = echo->origin() + "/";
        bodhi::client c(ioc.get_executor(), p);
        auto d = call<server_version>(ioc, [&](auto h) { c.async_detect(h); });
        CHECK(d.ec == errc::server_error);
        CHECK(d.r.diag.message.find("without a \"version\"") != std::string::npos);
        CHECK(!c.version());
        auto rel = call<std::vector<bodhi::release>>(ioc, [&](auto h) { c.async_releases({}, h); });
        CHECK(rel.ec == errc::server_error);
    }
    SUBCASE("HTML everywhere: neither Bodhi 1 nor Bodhi 2")
    {
        auto html = std::make_shared<emu::server>();
        html->mount("/", std::make_shared<html_app>());
        html->start();
        bodhi::client_params p;
        p.base_url = html->origin() + "/";
        bodhi::client c(ioc.get_executor(), p);
        auto d = call<server_version>(ioc, [&](auto h) { c.async_detect(h); });
        CHECK(d.ec == errc::server_error);
        CHECK(d.r.diag.message.find("neither Bodhi 1 nor Bodhi 2") != std::string::npos);
    }
}

TEST_CASE("bodhi client: Bodhi 2 login, origins and CSRF")
{
    bodhi_site site;
    asio::io_context ioc;
    bodhi::client client(ioc.get_executor(), site.params(server_version::bodhi2));

    auto login = call<bodhi::login_info>(ioc, [&](auto h) { client.async_login("alice", "alice-pass", h); });
    REQUIRE_OK(login);
    const bodhi::session s = login.r.session;
    {
        // The provider got the credentials and no cookie; Bodhi never saw the password.
        auto api = site.provider->last_request("/id/api/v1/");
        REQUIRE(api);
        CHECK(api->find(boost::beast::http::field::cookie) == api->end());
        auto form = fedora::http::form::decode(api->body());
        CHECK(*form.find("username") == "alice");
        CHECK(*form.find("auth_module") == "fedoauth.auth.fas.Auth_FAS");
        auto back = site.server->last_request("/bodhi/dologin.html");
        REQUIRE(back);
        CHECK(back->body().find("alice-pass") == std::string::npos);
    }

    bodhi::comment_fields cf;
    cf.update = site.data->read([](const emu::bodhi_state& st) { return st.updates()[5].alias; });
    cf.text = "first";

    SUBCASE("the cached token is used: no GET csrf")
    {
        site.server->reset_stats();
        auto r = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(cf, bodhi::auth_params::with_session(s), h); });
        REQUIRE_OK(r);
        CHECK(site.hits("/bodhi/csrf") == 0);
        CHECK(r.r.session.csrf_token == s.csrf_token);
    }
    SUBCASE("after the server rotates the tokens, one refetch and the write succeeds")
    {
        site.b2->rotate_csrf_tokens();
        site.server->reset_stats();
        auto r = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(cf, bodhi::auth_params::with_session(s), h); });
        REQUIRE_OK(r);
        CHECK(site.hits("/bodhi/csrf") == 1);
        CHECK(site.hits("/bodhi/comments/") == 2);
        CHECK(r.r.session.csrf_token != s.csrf_token);
        CHECK(!r.r.session.csrf_token.empty());
    }
    SUBCASE("without refetching, a stale token is refused")
    {
        auto p = site.params(server_version::bodhi2);
        p.refetch_csrf_on_mismatch = false;
        bodhi::client strict(ioc.get_executor(), p);
        site.b2->rotate_csrf_tokens();
        auto r = call<bodhi::comment_result>(ioc, [&](auto h) { strict.async_comment(cf, bodhi::auth_params::with_session(s), h); });
        CHECK(r.ec == errc::app_error);
        CHECK(r.r.diag.http_status == 400);
        CHECK(r.r.diag.message.find("CSRF tokens do not match") != std::string::npos);
        const auto& errors = r.r.diag.extras.at("errors").as_array();
        CHECK(errors.at(0).at("name") == "csrf_token");
        CHECK(errors.at(0).at("location") == "body");
    }
    SUBCASE("the server refuses a write without a token")
    {
        fedora::http::client raw(ioc.get_executor());
        fedora::http::request req;
        req.method = boost::beast::http::verb::post;
        req.url = boost::urls::url(site.base(server_version::bodhi2) + "comments/");
        req.headers.set(boost::beast::http::field::cookie, s.cookie_header());
        req.headers.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
        req.body = "update=" + cf.update + "&text=x";
        fedora::http::response resp;
        raw.async_send(req, [&](fedora::error_code, fedora::http::response r) { resp = std::move(r); });
        ioc.restart();
        ioc.run();
        CHECK_MESSAGE(resp.status() == 400, resp.body());
        CHECK(resp.body().find("csrf_token") != std::string::npos);
    }
    SUBCASE("expired sessions: credentials log in again, once")
    {
        site.b2->expire_sessions();
        auto both = bodhi::auth_params::with_session(s);
        both.username = "alice";
        both.password = "alice-pass";
        bodhi::update_fields f;
        f.builds = {"foo-11.0-1.fc22"};
        f.notes = "after the sessions expired";
        auto r = call<bodhi::save_result>(ioc, [&](auto h) { client.async_save_update(f, both, h); });
        REQUIRE_OK(r);
        CHECK(r.r.value.updates.at(0).submitter == "alice");
        CHECK(*r.r.session.cookie("auth_tkt") != *s.cookie("auth_tkt"));
    }
    SUBCASE("a session from another origin is never sent")
    {
        auto foreign = s;
        foreign.origin = "https://bodhi.example.org";
        site.server->reset_stats();
        auto r = call<bodhi::comment_result>(ioc, [&](auto h) { client.async_comment(cf, bodhi::auth_params::with_session(foreign), h); });
        CHECK(r.ec == errc::invalid_argument);
        CHECK(site.server->stats().requests_total == 0);
    }
    SUBCASE("a provider other than the configured one gets no credentials")
    {
        auto p = site.params(server_version::bodhi2);
        p.openid_api_url = "https://id.example.org/api/v1/";
        bodhi::client other(ioc.get_executor(), p);
        site.provider->reset_stats();
        auto r = call<bodhi::login_info>(ioc, [&](auto h) { other.async_login("alice", "alice-pass", h); });
        CHECK(r.ec == errc::auth_error);
        CHECK(r.r.diag.message.find("credentials were not sent") != std::string::npos);
        CHECK(site.provider->stats().requests_total == 0);
    }
    SUBCASE("wrong password: the provider's message")
    {
        auto r = call<bodhi::login_info>(ioc, [&](auto h) { client.async_login("alice", "wrong", h); });
        CHECK(r.ec == errc::auth_error);
        CHECK(r.r.diag.message == "Authentication failed");
    }
}

TEST_CASE("bodhi client: Bodhi 1 sessions carry tg-visit and its _csrf_token")
{
    bodhi_site site;
    asio::io_context ioc;
    bodhi::client client(ioc.get_executor(), site.params(server_version::bodhi1));
    auto login = call<bodhi::login_info>(ioc, [&](auto h) { client.async_login("bob", "bob-pass", h); });
    REQUIRE_OK(login);
    const std::string visit = *login.r.session.cookie("tg-visit");
    bodhi::override_query oq;
    oq.mine = true;
    auto r = call<bodhi::page<bodhi::override_record>>(
        ioc, [&](auto h) { client.async_query_overrides(oq, bodhi::auth_params::with_session(login.r.session), h); });
    REQUIRE_OK(r);
    auto req = site.server->last_request("/updates/override/list");
    REQUIRE(req);
    auto form = fedora::http::form::decode(req->body());
    CHECK(*form.find("_csrf_token") == bodhi::bodhi1_csrf_token(visit));
    CHECK(!form.find("password"));
    CHECK(std::string((*req)[boost::beast::http::field::cookie]) == "tg-visit=" + visit);
    site.b1->expire_visits();
    auto stale = call<bodhi::page<bodhi::override_record>>(
        ioc, [&](auto h) { client.async_query_overrides(oq, bodhi::auth_params::with_session(login.r.session), h); });
    CHECK(stale.ec == errc::auth_error);
}

TEST_CASE_TEMPLATE("bodhi client: the emulator's fault switches on Bodhi routes", V, version_t<1>, version_t<2>)
{
    constexpr server_version v = version_of(V::value);
    bodhi_site site;
    asio::io_context ioc;
    auto params = site.params(v, true);
    bodhi::client client(ioc.get_executor(), params);
    const auto anonymous = bodhi::auth_params::anonymous();
    const std::string prefix = site.base(v).substr(site.server->origin().size());
    auto releases = [&] {
        return call<std::vector<bodhi::release>>(ioc, [&](auto h) { client.async_releases(anonymous, h); });
    };

    site.server->set_fault(prefix + "releases", {.kind = emu::fault_kind::server_error_html, .status = 502, .count = 1});
    auto html = releases();
    CHECK(html.ec == errc::server_error);
    CHECK(html.r.diag.http_status == 502);

    site.server->set_fault(prefix + "releases", {.kind = emu::fault_kind::malformed_json, .count = 1});
    CHECK(releases().ec == errc::server_error);

    site.server->set_fault(prefix + "releases", {.kind = emu::fault_kind::close_after_bytes, .bytes = 40, .count = 1});
    CHECK(releases().ec == errc::protocol_error);

    site.server->set_fault(prefix + "releases", {.kind = emu::fault_kind::broken_chunked, .count = 1});
    CHECK(releases().ec == errc::protocol_error);

    // And the route works again once the faults are spent.
    auto ok = releases();
    CHECK(!ok.ec);
    CHECK(ok.r.value.size() == 5);
}
