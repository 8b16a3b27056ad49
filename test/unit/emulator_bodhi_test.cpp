// The Bodhi emulator's data store and rules (bodhi_data / bodhi_state), without HTTP.
#include "emulator_bodhi_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

using namespace bodhi_test;

namespace {

// Creates an update through the rules and returns its id (0 on failure).
std::uint32_t create_update(bodhi_state& s, std::vector<std::string> builds, std::string user = "alice",
                            update_request request = update_request::testing, int stable_karma = 3)
{
    update_save_params p;
    p.builds = std::move(builds);
    p.notes = "Test update";
    p.request = request;
    p.stable_karma = stable_karma;
    auto out = s.save_update(p, user);
    REQUIRE_MESSAGE(out.ok(), (out.errors.empty() ? "" : out.errors.front().description));
    return out.ids.front();
}

comment_params vote(std::uint32_t update, std::string author, int karma, int critpath = 0, bool anonymous = false)
{
    comment_params c;
    c.update_id = update;
    c.author = std::move(author);
    c.karma = karma;
    c.karma_critpath = critpath;
    c.anonymous = anonymous;
    c.text = "vote";
    return c;
}

bool has_caveat(const bodhi_outcome& o, std::string_view text)
{
    return std::any_of(o.caveats.begin(), o.caveats.end(),
                       [&](const auto& c) { return c.description.find(text) != std::string::npos; });
}

} // namespace

TEST_CASE("bodhi time: format and parse round trip")
{
    CHECK(format_bodhi_time(start) == "2015-09-15 12:00:00");
    CHECK(format_bodhi_time(0) == "1970-01-01 00:00:00");
    CHECK(parse_bodhi_time("2015-09-15 12:00:00") == start);
    CHECK(parse_bodhi_time("2015-09-15T12:00:00Z") == start);
    CHECK(parse_bodhi_time("2015-09-15 12:00:00.123456") == start);
    CHECK(parse_bodhi_time("2015-09-15") == start - 12 * 3600);
    CHECK(parse_bodhi_time("2016-02-29 00:00:00").has_value());
    for (const char* bad : {"", "2015-02-30", "2015-13-01", "15-09-15", "2015-09-15 25:00:00", "2015-09-15 12:00:00 junk",
                            "2015-09-15 12:00:00.", "yesterday"})
        CHECK_MESSAGE(!parse_bodhi_time(bad), bad);
}

TEST_CASE("bodhi data: the generator is deterministic and covers every status, type and request")
{
    auto a = make_data(240);
    auto b = make_data(240);
    auto digest = [](const bodhi_state& s) {
        std::string out;
        for (const auto& u : s.updates())
            out += u.alias + s.title(u, ',') + std::to_string(u.karma) + std::string(to_string(u.status)) + ";";
        return out;
    };
    CHECK(a->read(digest) == b->read(digest));

    a->read([](const bodhi_state& s) {
        CHECK(s.updates().size() == 240);
        std::set<update_status> statuses;
        std::set<update_type> types;
        std::set<update_request> requests;
        std::set<std::string> aliases;
        bool karma_seen = false, critpath_seen = false, locked_seen = false, expired_override = false,
             active_override = false;
        for (const auto& u : s.updates()) {
            statuses.insert(u.status);
            types.insert(u.type);
            requests.insert(u.request);
            aliases.insert(u.alias);
            karma_seen = karma_seen || u.karma != 0;
            critpath_seen = critpath_seen || u.critpath;
            locked_seen = locked_seen || u.locked;
            CHECK(u.date_submitted <= s.now());
            CHECK(s.find_update(u.alias) == &u);
            CHECK(s.find_update(s.title(u, ' ')) == &u);
        }
        for (const auto& o : s.overrides())
            (o.expired_date ? expired_override : active_override) = true;
        CHECK(statuses.size() == 6);
        CHECK(types.size() == 4);
        CHECK(requests.count(update_request::none));
        CHECK(requests.count(update_request::testing));
        CHECK(requests.count(update_request::stable));
        CHECK(aliases.size() == 240);
        CHECK(karma_seen);
        CHECK(critpath_seen);
        CHECK(locked_seen);
        CHECK(expired_override);
        CHECK(active_override);
        CHECK(s.releases().size() == 5);
        CHECK(s.find_release("EL-7") == s.find_release("EPEL-7"));
        CHECK(s.find_release("fedora 22")->name == "F22");
        CHECK(s.find_user("alice")->password == "alice-pass");
    });
}

TEST_CASE("bodhi data: 1,001 updates of one package, ordered and paginated without duplicates")
{
    auto data = make_data(40, 1001);
    data->read([](const bodhi_state& s) {
        update_filter f;
        f.packages = {"bulk-pkg"};
        f.releases = {s.find_release("F22")->id};
        auto ids = s.query_updates(f);
        REQUIRE(ids.size() == 1001);
        CHECK(std::set<std::uint32_t>(ids.begin(), ids.end()).size() == 1001);
        for (std::size_t i = 1; i < ids.size(); ++i)
            CHECK(s.update(ids[i - 1])->date_submitted > s.update(ids[i])->date_submitted);
    });
}

TEST_CASE("bodhi data: karma rules")
{
    auto data = make_data(20);
    data->write([](bodhi_state& s) {
        auto id = create_update(s, {"foo-9.0-1.fc22"});
        CHECK(s.push_requests() >= 1);
        REQUIRE(s.update(id)->status == update_status::testing);
        auto karma = [&] { return s.update(id)->karma; };

        CHECK(s.add_comment(vote(id, "bob", 1)).ok());
        CHECK(karma() == 1);
        SUBCASE("one vote per user: repeating a vote changes nothing")
        {
            CHECK(s.add_comment(vote(id, "bob", 1)).ok());
            CHECK(karma() == 1);
        }
        SUBCASE("a later vote replaces the earlier one")
        {
            auto out = s.add_comment(vote(id, "bob", -1));
            CHECK(has_caveat(out, "reversed"));
            CHECK(karma() == -1);
            CHECK(s.add_comment(vote(id, "carol", 1)).ok());
            CHECK(karma() == 0);
        }
        SUBCASE("a comment without karma does not withdraw the vote")
        {
            CHECK(s.add_comment(vote(id, "bob", 0)).ok());
            CHECK(karma() == 1);
        }
        SUBCASE("the submitter's own vote counts as zero, with a caveat")
        {
            auto out = s.add_comment(vote(id, "alice", 1));
            CHECK(out.ok());
            CHECK(has_caveat(out, "You may not give karma to your own updates."));
            CHECK(s.comment(out.ids.front())->karma == 0);
            CHECK(karma() == 1);
        }
        SUBCASE("anonymous karma is stored but not counted")
        {
            auto out = s.add_comment(vote(id, "someone@example.com", 1, 0, true));
            CHECK(out.ok());
            CHECK(s.comment(out.ids.front())->karma == 1);
            CHECK(karma() == 1);
        }
        SUBCASE("karma outside -1..1 is refused")
        {
            auto out = s.add_comment(vote(id, "dave", 2));
            CHECK(!out.ok());
            CHECK(out.status == 400);
            CHECK(karma() == 1);
        }
        SUBCASE("editing the builds resets karma")
        {
            update_save_params p;
            p.builds = {"foo-9.1-1.fc22"};
            p.notes = "new build";
            p.edited = s.update(id)->alias;
            auto out = s.save_update(p, "alice");
            REQUIRE(out.ok());
            CHECK(karma() == 0);
            CHECK(s.update(id)->status == update_status::pending);
            CHECK(s.find_update("foo-9.0-1.fc22") == nullptr);
            CHECK(s.find_update("foo-9.1-1.fc22")->id == id);
            CHECK(s.add_comment(vote(id, "bob", 1)).ok());
            CHECK(karma() == 1);
        }
    });
}

TEST_CASE("bodhi data: critpath karma is counted separately")
{
    auto data = make_data(10);
    data->write([](bodhi_state& s) {
        auto id = create_update(s, {"kernel-4.2.0-1.fc22"}, "carol");
        s.push_requests();
        CHECK(s.update(id)->critpath);
        CHECK(s.add_comment(vote(id, "bob", 1, 1)).ok());
        CHECK(s.add_comment(vote(id, "tester03", 0, 1)).ok());
        CHECK(s.update(id)->karma == 1);
        CHECK(s.update(id)->karma_critpath == 2);
        CHECK(s.critpath_approved(*s.update(id)));
        CHECK(s.add_comment(vote(id, "bob", 0, -1)).ok());
        CHECK(s.update(id)->karma == 1);
        CHECK(s.update(id)->karma_critpath == 0);
    });
}

TEST_CASE("bodhi data: autokarma thresholds")
{
    auto data = make_data(10);
    data->write([](bodhi_state& s) {
        auto id = create_update(s, {"bar-2.0-1.fc22"}, "alice", update_request::testing, 2);
        s.push_requests();
        s.add_comment(vote(id, "carol", 1));
        CHECK(s.update(id)->request == update_request::none);
        s.add_comment(vote(id, "dave", 1));
        CHECK(s.update(id)->request == update_request::stable);

        auto bad = create_update(s, {"bar-2.0-1.fc21"}, "alice");
        s.push_requests();
        for (const char* who : {"carol", "dave", "tester01"})
            s.add_comment(vote(bad, who, -1));
        CHECK(s.update(bad)->status == update_status::unpushed);
        CHECK(s.update(bad)->request == update_request::none);
    });
}

TEST_CASE("bodhi data: request rules")
{
    auto data = make_data(10);
    data->write([](bodhi_state& s) {
        auto id = create_update(s, {"foo-9.0-1.fc22"});
        s.push_requests();

        SUBCASE("only the submitter, a committer or an admin may push")
        {
            for (const char* who : {"bob", "dave", "tester01", "", "nobody"}) {
                auto out = s.set_request(id, update_request::stable, who);
                CHECK_MESSAGE(out.status == 403, who);
            }
            s.advance_clock(8 * 86400);
            CHECK(s.set_request(id, update_request::stable, "admin").ok());
        }
        SUBCASE("stable needs the testing requirements")
        {
            auto out = s.set_request(id, update_request::stable, "alice");
            CHECK(out.status == 400);
            CHECK(out.errors.front().description.find("minimum testing requirements") != std::string::npos);
            s.advance_clock(6 * 86400);
            CHECK(!s.set_request(id, update_request::stable, "alice").ok());
            s.advance_clock(1 * 86400);
            CHECK(s.set_request(id, update_request::stable, "alice").ok());
            CHECK(s.update(id)->request == update_request::stable);
            s.push_requests();
            CHECK(s.update(id)->status == update_status::stable);
            CHECK(s.set_request(id, update_request::obsolete, "alice").status == 400);
            CHECK(s.set_request(id, update_request::testing, "alice").status == 400);
            CHECK(s.set_request(id, update_request::unpush, "alice").status == 400);
        }
        SUBCASE("enough karma also meets them")
        {
            for (const char* who : {"bob", "carol", "dave"})
                s.add_comment(vote(id, who, 1));
            // autokarma already asked for stable
            CHECK(s.update(id)->request == update_request::stable);
        }
        SUBCASE("a pending update asked for stable goes to testing")
        {
            auto pending = create_update(s, {"foo-9.0-1.fc21"}, "alice", update_request::none);
            auto out = s.set_request(pending, update_request::stable, "alice");
            CHECK(out.ok());
            CHECK(!out.caveats.empty());
            CHECK(s.update(pending)->request == update_request::testing);
            CHECK(s.set_request(pending, update_request::stable, "alice").status == 400);
        }
        SUBCASE("invalid transitions")
        {
            CHECK(s.set_request(id, update_request::testing, "alice").status == 400);  // already testing
            CHECK(s.set_request(id, update_request::revoke, "alice").status == 400);   // nothing to revoke
            CHECK(s.set_request(id, update_request::none, "alice").status == 400);
            CHECK(s.set_request(9999999, update_request::testing, "alice").status == 404);
            s.set_locked(id, true);
            CHECK(s.set_request(id, update_request::unpush, "alice").status == 400);
            s.set_locked(id, false);
            CHECK(s.set_request(id, update_request::unpush, "alice").ok());
            CHECK(s.update(id)->status == update_status::unpushed);
            CHECK(s.set_request(id, update_request::unpush, "alice").status == 400);
            CHECK(s.set_request(id, update_request::testing, "alice").ok());
            CHECK(s.update(id)->status == update_status::pending);
            CHECK(s.set_request(id, update_request::revoke, "alice").ok());
            CHECK(s.update(id)->request == update_request::none);
            CHECK(s.set_request(id, update_request::obsolete, "alice").ok());
            CHECK(s.update(id)->status == update_status::obsolete);
        }
    });
}

TEST_CASE("bodhi data: creating and editing updates")
{
    auto data = make_data(10);
    data->write([](bodhi_state& s) {
        update_save_params p;
        p.notes = "notes";
        p.builds = {"foo-3.0-1.fc22"};
        CHECK(s.save_update(p, "dave").status == 403);  // not a packager
        CHECK(s.save_update(p, "bob").status == 403);   // not a committer of foo
        CHECK(s.save_update(p, "ghost").status == 403);
        p.builds = {"foo-3.0-1.fc99"};
        CHECK(s.save_update(p, "alice").errors.front().description.find("Unable to determine release") == 0);
        p.builds = {"not an nvr"};
        CHECK(!s.save_update(p, "alice").ok());
        p.builds = {};
        CHECK(!s.save_update(p, "alice").ok());

        p.builds = {"foo-3.0-1.fc22", "bar-3.0-1.fc22", "foo-3.0-1.fc21"};
        auto out = s.save_update(p, "alice");
        REQUIRE(out.ok());
        REQUIRE(out.ids.size() == 2); // one update per release
        CHECK(s.title(*s.update(out.ids[0]), ',') == "foo-3.0-1.fc22,bar-3.0-1.fc22");
        CHECK(s.title(*s.update(out.ids[0]), ' ') == "foo-3.0-1.fc22 bar-3.0-1.fc22");
        CHECK(s.update(out.ids[0])->request == update_request::testing);
        CHECK(s.update(out.ids[0])->alias.rfind("FEDORA-2015-", 0) == 0);

        p.builds = {"foo-3.0-1.fc22"};
        auto dup = s.save_update(p, "alice");
        CHECK(dup.status == 400);
        CHECK(dup.errors.front().description == "Update for foo-3.0-1.fc22 already exists");

        // A brand-new package: the submitter becomes its committer.
        p.builds = {"brand-new-1.0-1.el7"};
        auto fresh = s.save_update(p, "bob");
        REQUIRE(fresh.ok());
        CHECK(s.release(s.update(fresh.ids[0])->release_id)->name == "EPEL-7");
        CHECK(s.find_package("brand-new")->committers == std::vector<std::string>{"bob"});

        // Edit by title, notes only.
        update_save_params e = p;
        e.builds = {"brand-new-1.0-1.el7"};
        e.notes = "better notes";
        e.edited = "brand-new-1.0-1.el7";
        CHECK(s.save_update(e, "alice").status == 403);
        CHECK(s.save_update(e, "bob").ok());
        CHECK(s.update(fresh.ids[0])->notes == "better notes");
        e.edited = "no-such-update-1-1.fc22";
        CHECK(s.save_update(e, "bob").status == 400);
    });
}

TEST_CASE("bodhi data: delete (Bodhi 1)")
{
    auto data = make_data(10);
    data->write([](bodhi_state& s) {
        auto id = create_update(s, {"foo-5.0-1.fc22"});
        CHECK(s.delete_update(id, "bob").status == 403);
        CHECK(s.delete_update(id, "alice").ok());
        CHECK(s.find_update("foo-5.0-1.fc22") == nullptr);
        CHECK(s.delete_update(id, "alice").status == 404);
        // the build is free again
        auto again = create_update(s, {"foo-5.0-1.fc22"});
        s.push_requests();
        CHECK(s.delete_update(again, "alice").errors.front().description == "Cannot delete a pushed update");
    });
}

TEST_CASE("bodhi data: buildroot overrides")
{
    auto data = make_data(10);
    data->write([](bodhi_state& s) {
        override_save_params p;
        p.nvrs = {"foo-7.0-1.fc22"};
        p.notes = "needed for bar";
        p.expiration_date = s.now() + 7 * 86400;
        CHECK(s.save_override(p, "dave").status == 403);
        auto out = s.save_override(p, "alice");
        REQUIRE(out.ok());
        CHECK(out.message.find("koji wait-repo f22-build --build=foo-7.0-1.fc22") != std::string::npos);
        CHECK(s.save_override(p, "alice").errors.front().description == "Buildroot override for foo-7.0-1.fc22 already exists");
        auto tags = s.tags_of(*s.find_build("foo-7.0-1.fc22"));
        CHECK(std::find(tags.begin(), tags.end(), "f22-override") != tags.end());

        p.expiration_date = s.now() - 1;
        CHECK(s.save_override(p, "alice").errors.front().name == "expiration_date");
        p.expiration_date = s.now() + 32 * 86400;
        CHECK(s.save_override(p, "alice").errors.front().description == "Expiration date may not be longer than 31");

        // Expire through an edit, then the documented quirk: expiring again re-enables it.
        p.expiration_date = s.now() + 3 * 86400;
        p.edited = "foo-7.0-1.fc22";
        p.expired = true;
        REQUIRE(s.save_override(p, "alice").ok());
        CHECK(s.override_record(out.ids[0])->expired_date.has_value());
        REQUIRE(s.save_override(p, "alice").ok());
        CHECK(!s.override_record(out.ids[0])->expired_date.has_value());

        CHECK(s.expire_override("foo-7.0-1.fc22", "alice").ok());
        CHECK(s.expire_override("foo-7.0-1.fc22", "alice").status == 400);
        CHECK(s.expire_override("nope-1-1.fc22", "alice").status == 404);

        // Time passing expires overrides.
        override_save_params q;
        q.nvrs = {"bar-7.0-1.fc22"};
        q.notes = "short";
        q.expiration_date = s.now() + 86400;
        auto short_lived = s.save_override(q, "bob");
        REQUIRE(short_lived.ok());
        s.advance_clock(2 * 86400);
        CHECK(s.override_record(short_lived.ids[0])->expired_date.has_value());
    });
}

TEST_CASE("bodhi data: latest builds follow the updates' states")
{
    auto data = make_data(10);
    data->write([](bodhi_state& s) {
        auto stable = create_update(s, {"firefox-40.0-1.fc22"}, "bob");
        s.push_requests();
        s.advance_clock(8 * 86400);
        REQUIRE(s.set_request(stable, update_request::stable, "bob").ok());
        s.push_requests();
        create_update(s, {"firefox-41.0-1.fc22"}, "bob");
        s.push_requests();
        create_update(s, {"firefox-42.0-1.fc22"}, "bob");
        std::map<std::string, std::string> latest;
        for (auto& [tag, nvr] : s.latest_builds("firefox"))
            latest[tag] = nvr;
        CHECK(latest["f22-updates"] == "firefox-40.0-1.fc22");
        CHECK(latest["f22-updates-testing"] == "firefox-41.0-1.fc22");
        CHECK(latest["f22-updates-candidate"] == "firefox-42.0-1.fc22");
        CHECK(latest["f22-updates-testing-pending"] == "firefox-42.0-1.fc22");
        CHECK(s.latest_builds("no-such-package").empty());
    });
}

TEST_CASE("bodhi data: concurrent readers and writers")
{
    auto data = make_data(30);
    std::uint32_t id = data->write([](bodhi_state& s) {
        auto id = create_update(s, {"foo-8.0-1.fc22"});
        s.push_requests();
        return id;
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                data->write([&](bodhi_state& s) { s.add_comment(vote(id, "tester0" + std::to_string(t + 1), i % 2 ? 1 : -1)); });
                data->read([&](const bodhi_state& s) { return s.query_updates({}).size(); });
            }
        });
    }
    for (auto& t : threads)
        t.join();
    data->read([&](const bodhi_state& s) {
        // 200 votes (plus system comments); each tester's last vote is +1.
        auto votes = std::count_if(s.update(id)->comments.begin(), s.update(id)->comments.end(),
                                   [&](auto c) { return s.comment(c)->author != "bodhi"; });
        CHECK(votes == 200);
        CHECK(s.update(id)->karma == 4);
    });
}
