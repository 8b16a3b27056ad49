// What every bench client shares: the command line, the clock, getrusage, and the one JSON
// line each run prints, so bench/run can compare the clients field by field.
//
//   --url URL            the URL requested (FAS modes of fedora-bench: the FAS base URL)
//   --connections C      keep-alive connections (default 1)
//   --requests N         timed requests (default 10000)
//   --callers K          concurrent callers (fedora-bench; default C)
//   --warmup W           untimed requests first, opening the connections (default C)
//   --insecure           no certificate verification
//   --ca-file F          extra trusted CA (PEM)
//   --method GET|POST    default POST when --body is given, else GET
//   --body TEXT          request body (sent as application/x-www-form-urlencoded)
//   --header 'N: V'      extra request header, repeatable
//   --mode M             fedora-bench only (see fedora_bench.cpp)
//   --session ID         FAS tg-visit session (fedora-bench FAS modes)
//   --username U, --id N the person asked for (fedora-bench FAS modes)
//
// Output: one line {"client":..,"mode":..,"requests":N,"seconds":S,"cpu_seconds":U,
// "errors":E,"req_per_s":..,"cpu_us_per_req":..,"rss_kb":..,"bytes":..,"mb_per_s":..}.
// seconds and cpu_seconds (user + system, getrusage) cover the timed requests only; rss_kb
// is the process's peak resident set (ru_maxrss), startup and warm-up included.
#pragma once

#include <sys/resource.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

struct options
{
    std::string url;
    std::size_t connections = 1;
    std::size_t requests = 10000;
    std::size_t callers = 0;      // 0 = connections
    std::size_t warmup = SIZE_MAX; // SIZE_MAX = connections
    bool insecure = false;
    std::string ca_file;
    std::string method;           // "" = POST if body else GET
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string mode = "raw";
    std::string session;
    std::string username = "jdoe";
    std::int64_t id = 0;
};

[[noreturn]] inline void usage(const char* prog, std::string_view why)
{
    std::cerr << prog << ": " << why << "\n"
              << "usage: " << prog
              << " --url URL [--connections C] [--requests N] [--callers K] [--warmup W]\n"
                 "       [--insecure|--ca-file F] [--method GET|POST] [--body TEXT] [--header 'N: V']...\n"
                 "       [--mode raw|person-by-id|person-by-username|user-data|dump-dom|people-by-key|people-dom]\n"
                 "       [--session ID] [--username U] [--id N]\n";
    std::exit(2);
}

inline std::size_t to_size(const char* prog, std::string_view flag, std::string_view s)
{
    std::size_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size())
        usage(prog, std::string(flag) + ": not a number: " + std::string(s));
    return v;
}

inline options parse(int argc, char** argv)
{
    options o;
    const char* prog = argv[0];
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc)
                usage(prog, std::string(a) + " needs a value");
            return argv[++i];
        };
        if (a == "--url")
            o.url = value();
        else if (a == "--connections")
            o.connections = to_size(prog, a, value());
        else if (a == "--requests")
            o.requests = to_size(prog, a, value());
        else if (a == "--callers")
            o.callers = to_size(prog, a, value());
        else if (a == "--warmup")
            o.warmup = to_size(prog, a, value());
        else if (a == "--insecure")
            o.insecure = true;
        else if (a == "--ca-file")
            o.ca_file = value();
        else if (a == "--method")
            o.method = value();
        else if (a == "--body")
            o.body = value();
        else if (a == "--header") {
            std::string_view h = value();
            auto colon = h.find(':');
            if (colon == std::string_view::npos)
                usage(prog, "--header wants 'Name: value'");
            std::string_view v = h.substr(colon + 1);
            while (!v.empty() && v.front() == ' ')
                v.remove_prefix(1);
            o.headers.emplace_back(h.substr(0, colon), v);
        } else if (a == "--mode")
            o.mode = value();
        else if (a == "--session")
            o.session = value();
        else if (a == "--username")
            o.username = value();
        else if (a == "--id")
            o.id = static_cast<std::int64_t>(to_size(prog, a, value()));
        else if (a == "--help" || a == "-h")
            usage(prog, "help");
        else
            usage(prog, "unknown option " + std::string(a));
    }
    if (o.url.empty())
        usage(prog, "--url is required");
    if (o.connections == 0)
        usage(prog, "--connections must be at least 1");
    if (o.callers == 0)
        o.callers = o.connections;
    if (o.warmup == SIZE_MAX)
        o.warmup = o.connections;
    if (o.method.empty())
        o.method = o.body.empty() ? "GET" : "POST";
    if (o.method != "GET" && o.method != "POST")
        usage(prog, "--method is GET or POST");
    return o;
}

inline double cpu_now()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return sec(ru.ru_utime) + sec(ru.ru_stime);
}

inline long peak_rss_kb()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// Brackets the timed part of a run.
class meter
{
public:
    void start()
    {
        wall_ = std::chrono::steady_clock::now();
        cpu_ = cpu_now();
    }
    void stop()
    {
        seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_).count();
        cpu_seconds_ = cpu_now() - cpu_;
    }
    double seconds() const { return seconds_; }
    double cpu_seconds() const { return cpu_seconds_; }

private:
    std::chrono::steady_clock::time_point wall_{};
    double cpu_ = 0;
    double seconds_ = 0;
    double cpu_seconds_ = 0;
};

inline void report(std::string_view client, const options& o, const meter& m, std::size_t done,
                   std::size_t errors, std::uint64_t bytes)
{
    const double rps = m.seconds() > 0 ? double(done) / m.seconds() : 0;
    const double us = done > 0 ? m.cpu_seconds() * 1e6 / double(done) : 0;
    const double mbps = m.seconds() > 0 ? double(bytes) / 1e6 / m.seconds() : 0;
    std::printf("{\"client\":\"%.*s\",\"mode\":\"%s\",\"connections\":%zu,\"callers\":%zu,"
                "\"requests\":%zu,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"errors\":%zu,"
                "\"req_per_s\":%.1f,\"cpu_us_per_req\":%.3f,\"rss_kb\":%ld,\"bytes\":%llu,"
                "\"mb_per_s\":%.2f}\n",
                int(client.size()), client.data(), o.mode.c_str(), o.connections, o.callers, done,
                m.seconds(), m.cpu_seconds(), errors, rps, us, peak_rss_kb(),
                static_cast<unsigned long long>(bytes), mbps);
    std::fflush(stdout);
}

// The first few errors go to stderr; the rest are only counted.
inline void note_error(std::size_t& errors, std::string_view what)
{
    if (++errors <= 3)
        std::cerr << "error: " << what << "\n";
}

} // namespace bench
