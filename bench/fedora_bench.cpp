// fedora-bench: the SDK's side of the benchmarks (issue 6). K coroutine callers share one
// client whose pool holds at most C connections to the origin; each caller loops over the
// operation until N have been started. Every call goes through the public API with the
// default completion token, as an application would write it.
//
//   fedora-bench --url URL --connections C --requests N [--callers K]
//                [--insecure|--ca-file F] [--mode MODE] [--session ID] [--username U] [--id N]
//                [--method GET|POST] [--body TEXT] [--header 'N: V']...
//
// Modes (URL = the exact URL for raw, the FAS base URL, e.g. http://host/accounts/, else):
//   raw                 fedora::http::client::async_send of the URL (GET, or POST with --body),
//                       status 200 checked, boost::json::parse of the body: the transport's
//                       cost next to raw-beast-bench, which does the same
//   person-by-id        proxy_client::async_person_by_id(--id, auth_params::session(--session))
//   person-by-username  account_system{session_id = --session}.async_person_by_username(--username):
//                       the typed person, its username checked
//   user-data           account_system::async_user_data(): whatever the SDK does with the dump
//                       (bytes counted by the transport's on_exchange observer)
//   dump-dom            the baseline for user-data: a raw fedora::http POST of
//                       json/fas_client/user_data, then boost::json::parse of the whole body,
//                       then fas::ops::user_data::parse (the typed map)
//   people-by-key       account_system::async_people_by_key("username", "*", {}) (user/list dump)
//   people-dom          its DOM baseline, as dump-dom
// Output: see common.hpp.
#include "common.hpp"

#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>
#include <fedora/http/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <variant>

namespace asio = boost::asio;
namespace fas = fedora::fas;
namespace fhttp = fedora::http;

namespace {

struct state
{
    std::size_t left = 0;
    std::size_t errors = 0;
    std::uint64_t bytes = 0;
};

// One call of the mode; throws (fedora::error) or returns false on a failed check.
using call_fn = std::function<asio::awaitable<bool>(state&)>;

asio::awaitable<void> caller(const call_fn& call, state& s)
{
    while (s.left > 0) {
        --s.left;
        try {
            if (!co_await call(s))
                bench::note_error(s.errors, "unexpected answer");
        } catch (const fedora::error& e) {
            bench::note_error(s.errors, std::string(e.what()) + " (" + e.diag().message + ")");
        } catch (const std::exception& e) {
            bench::note_error(s.errors, e.what());
        }
    }
}

// Runs n calls with k callers to completion on ioc.
void run_phase(asio::io_context& ioc, const call_fn& call, state& s, std::size_t n, std::size_t k)
{
    s.left = n;
    for (std::size_t i = 0; i < k; ++i)
        asio::co_spawn(ioc, caller(call, s), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    ioc.run();
    ioc.restart();
}

// The DOM baseline for a dump operation: the request the SDK would send (op.build()) as a
// raw fedora::http POST, the whole body through boost::json::parse, then op.parse.
template <class Op>
call_fn dom_call(std::shared_ptr<fhttp::client> transport, const boost::urls::url& base,
                 const std::string& session, Op op)
{
    auto built = op.build();
    fhttp::request proto;
    proto.method = fhttp::verb::post;
    proto.url = fhttp::join(base, built.path);
    proto.headers.set(boost::beast::http::field::accept, "application/json");
    fhttp::form form = built.form;
    if (!session.empty()) {
        proto.headers.set(boost::beast::http::field::cookie, "tg-visit=" + session);
        form.add("_csrf_token", fas::csrf_token_for(session));
    }
    proto.body = form.encode();
    proto.headers.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
    proto.safe_to_repeat = true;
    return [transport, proto, op](state&) -> asio::awaitable<bool> {
        fhttp::request req = proto;
        auto resp = co_await transport->async_send(std::move(req));
        if (resp.status() != 200)
            co_return false;
        fas::raw_reply raw;
        boost::system::error_code ec;
        raw.body = boost::json::parse(resp.body(), ec);
        if (ec)
            co_return false;
        raw.status = resp.status();
        typename Op::result_type out;
        if (op.parse(raw, out))
            co_return false;
        if constexpr (requires { out.empty(); })
            co_return !out.empty();
        else
            co_return std::visit([](auto& m) { return !m.empty(); }, out);
    };
}

} // namespace

int main(int argc, char** argv)
{
    auto opt = bench::parse(argc, argv);
    const std::string& mode = opt.mode;
    if (mode != "raw" && mode != "person-by-id" && mode != "person-by-username" && mode != "user-data" &&
        mode != "dump-dom" && mode != "people-by-key" && mode != "people-dom")
        bench::usage(argv[0], "unknown --mode " + mode);
    auto parsed = boost::urls::parse_absolute_uri(opt.url);
    if (!parsed)
        bench::usage(argv[0], "--url is not an absolute URL");
    const boost::urls::url url(*parsed);

    asio::io_context ioc(1);
    state s;

    fhttp::client_params hp;
    hp.pool.max_connections_per_origin = opt.connections;
    hp.pool.max_waiting_per_origin = std::max<std::size_t>(1024, opt.callers);
    hp.pool.max_requests_per_connection = std::size_t(1) << 40;  // nginx keeps them; so do we
    hp.tls.insecure = opt.insecure;
    hp.tls.ca_file = opt.ca_file;
    const bool dump = mode == "user-data" || mode == "dump-dom" || mode == "people-by-key" || mode == "people-dom";
    if (dump)
        hp.on_exchange = [&s](const fhttp::exchange_event& e) { s.bytes += e.bytes_received; };
    auto transport = std::make_shared<fhttp::client>(ioc.get_executor(), hp);

    fas::client_params fp;
    fp.base_url = opt.url;
    fp.http = hp;
    std::unique_ptr<fas::proxy_client> proxy;
    std::unique_ptr<fas::account_system> account;
    if (mode == "person-by-id")
        proxy = std::make_unique<fas::proxy_client>(transport, fp);
    if (mode == "person-by-username" || mode == "user-data" || mode == "people-by-key")
        account = std::make_unique<fas::account_system>(
            transport, fas::account_params{.client = fp, .session_id = opt.session});

    call_fn call;
    if (mode == "raw") {
        fhttp::request proto;
        proto.method = opt.method == "POST" ? fhttp::verb::post : fhttp::verb::get;
        proto.url = url;
        for (auto& [name, value] : opt.headers)
            proto.headers.set(name, value);
        if (!opt.body.empty()) {
            if (proto.headers.find(boost::beast::http::field::content_type) == proto.headers.end())
                proto.headers.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
            proto.body = opt.body;
        }
        proto.safe_to_repeat = true;
        call = [&transport, proto](state&) -> asio::awaitable<bool> {
            fhttp::request req = proto;
            auto resp = co_await transport->async_send(std::move(req));
            if (resp.status() != 200)
                co_return false;
            boost::system::error_code ec;
            auto jv = boost::json::parse(resp.body(), ec);
            co_return !ec;
        };
    } else if (mode == "person-by-id") {
        call = [&proxy, &opt](state&) -> asio::awaitable<bool> {
            auto auth = fas::auth_params::session(opt.session);
            auto r = co_await proxy->async_person_by_id(opt.id, std::move(auth));
            co_return r.value.id == opt.id;
        };
    } else if (mode == "person-by-username") {
        call = [&account, &opt](state&) -> asio::awaitable<bool> {
            std::string name = opt.username;
            auto r = co_await account->async_person_by_username(std::move(name));
            co_return r.value && r.value->username == opt.username;
        };
    } else if (mode == "user-data") {
        call = [&account](state&) -> asio::awaitable<bool> {
            auto r = co_await account->async_user_data();
            co_return !r.value.empty();
        };
    } else if (mode == "people-by-key") {
        call = [&account](state&) -> asio::awaitable<bool> {
            std::string key = "username", search = "*";
            std::vector<std::string> fields;
            auto r = co_await account->async_people_by_key(std::move(key), std::move(search), std::move(fields));
            auto* m = std::get_if<fas::people_by_text_map>(&r.value);
            co_return m && !m->empty();
        };
    } else if (mode == "dump-dom") {
        call = dom_call(transport, url, opt.session, fas::ops::user_data{});
    } else {  // people-dom
        call = dom_call(transport, url, opt.session, fas::ops::people_by_key{});
    }

    // Warm-up: C concurrent callers open the C connections (and log in, if needed).
    run_phase(ioc, call, s, std::max(opt.warmup, opt.connections), opt.connections);
    s.errors = 0;
    s.bytes = 0;

    bench::meter m;
    m.start();
    run_phase(ioc, call, s, opt.requests, opt.callers);
    m.stop();
    bench::report("fedora", opt, m, opt.requests, s.errors, s.bytes);
    return s.errors ? 1 : 0;
}
