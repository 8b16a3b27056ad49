#!/usr/bin/python3
"""python-fedora 1.1.1 itself against the fedora-emulator executable.

Usage: python_fedora_test.py PATH/TO/fedora-emulator

Runs every public method of fedora.client.fas2.AccountSystem and
fedora.client.fasproxy.FasProxyClient (the method table of spec/fas-client.md §0)
against the emulator, once over HTTP and once over HTTPS with the emulator's own CA,
and checks the results and the documented failures. One line per checked method;
exit status 1 on the first failure.

Must run with Debian's /usr/bin/python3, the interpreter python3-fedora is installed for.
"""

import hashlib
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings

# python-fedora expands ~/.fedora/fedora_session when it is imported and AccountSystem
# writes session ids there by default, so HOME must point at a scratch directory before
# the first `import fedora`. ~/.netrc and proxy variables would also leak into every
# request (python-requests trust_env), so they are neutralised the same way.
SCRATCH = tempfile.mkdtemp(prefix='python-fedora-test-')
HOME = os.path.join(SCRATCH, 'home')
os.makedirs(HOME)
os.environ['HOME'] = HOME
os.environ.pop('NETRC', None)
for _var in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy'):
    os.environ.pop(_var, None)
os.environ['NO_PROXY'] = os.environ['no_proxy'] = '*'
os.environ.pop('REQUESTS_CA_BUNDLE', None)
os.environ.pop('CURL_CA_BUNDLE', None)

import requests  # noqa: E402
from fedora.client import AppError, AuthError, CLAError, ServerError  # noqa: E402
from fedora.client.fas2 import AccountSystem  # noqa: E402
from fedora.client.fasproxy import FasProxyClient  # noqa: E402

SESSION_CACHE = os.path.join(HOME, '.fedora', 'fedora_session')

AS_METHODS = {
    'create_group', 'group_by_id', 'group_by_name', 'group_members', 'person_by_id',
    'person_by_username', 'avatar_url', 'gravatar_url', 'user_id', 'people_by_key',
    'people_by_id', 'people_by_groupname', 'get_config', 'get_configs_like', 'set_config',
    'people_query', 'user_gencert', 'verify_password', 'group_data', 'user_data', 'logout',
    'send_request',
}
FP_METHODS = {
    'login', 'logout', 'refresh_session', 'verify_session', 'verify_password',
    'get_user_info', 'person_by_id', 'group_list', 'send_request',
}

checked = set()


def public_methods(cls):
    return {n for n in dir(cls) if not n.startswith('_') and callable(getattr(cls, n))}


def ok(qualified, detail=''):
    checked.add(qualified)
    print('ok   %-30s %s' % (qualified, detail), flush=True)


def expect(exc_type, fn, *args, **kwargs):
    """Calls fn and returns the exception of exc_type it must raise."""
    try:
        result = fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError('%s%r returned %r instead of raising %s'
                         % (getattr(fn, '__name__', fn), args, result, exc_type.__name__))


HEX40 = re.compile(r'^[0-9a-f]{40}$')


# ---------------------------------------------------------------------------------------
# The emulator process

class Emulator:
    def __init__(self, exe, *args):
        self.proc = subprocess.Popen([exe, '--people', '30', '--groups', '8', *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.stderr = []
        ready = threading.Event()

        def read_stdout():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip('\n'))
                if line.strip() == 'ready':
                    ready.set()
            ready.set()

        def read_stderr():
            # Drained continuously so a chatty emulator can never block on a full pipe.
            for line in self.proc.stderr:
                self.stderr.append(line)

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        if not ready.wait(30) or 'ready' not in self.lines:
            self.stop()
            raise AssertionError('emulator did not get ready: stdout=%r stderr=%r'
                                 % (self.lines, ''.join(self.stderr)))
        line = next(l for l in self.lines if l.startswith('fedora-emulator: FAS2 at '))
        self.fas_url = re.search(r'FAS2 at (\S+)', line).group(1)
        m = re.search(r' CA file (.+)$', line)
        self.ca_file = m.group(1) if m else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError('emulator ignored SIGTERM')
        return self.proc.returncode


# ---------------------------------------------------------------------------------------
# AccountSystem

def check_account_system(url):
    if os.path.exists(SESSION_CACHE):
        os.remove(SESSION_CACHE)  # the previous run's ids belong to a server that is gone
    fas = AccountSystem(url, username='jdoe', password='jdoe-pass')

    p = fas.person_by_username('jdoe')
    assert p.username == 'jdoe' and p.id == 100068, p
    assert p.email == 'jdoe@example.org' and p.bugzilla_email == p.email, p
    assert {g.name for g in p.approved_memberships} >= {'cla_done', 'packager', 'fedorabugs'}, p
    assert fas.person_by_username('no-such-user') == {}
    assert HEX40.match(fas.session_id), fas.session_id
    ok('AccountSystem.person_by_username', "jdoe; unknown -> {}")

    # cache_session defaults to True: the session landed in the scratch HOME, 0600.
    assert os.path.exists(SESSION_CACHE)
    assert os.stat(SESSION_CACHE).st_mode & 0o777 == 0o600

    p = fas.person_by_id(100001)
    assert p.username == 'admin' and p.id == 100001, p
    assert fas.person_by_id(99999999) == {}
    expect(ValueError, fas.person_by_id, 'abc')   # int() before any I/O
    ok('AccountSystem.person_by_id', "admin; unknown -> {}; 'abc' -> ValueError")

    g = fas.group_by_id(100300)
    assert g.name == 'packager' and g.group_type == 'pkgdb', g
    assert 100068 in {r.person_id for r in g.approved_roles}, g.approved_roles
    assert 100070 in {r.person_id for r in g.unapproved_roles}, g.unapproved_roles
    assert fas.group_by_id(99999999) == {}
    ok('AccountSystem.group_by_id', 'packager; unknown -> {}')

    g = fas.group_by_name('packager')
    assert g.id == 100300, g
    e = expect(AppError, fas.group_by_name, 'nosuchgroup')
    assert e.name == 'FASError' and "b'nosuchgroup'" in e.message, (e.name, e.message)
    ok('AccountSystem.group_by_name', 'packager; unknown -> AppError(FASError)')

    members = fas.group_members('packager')
    names = {m.username: m.role_type for m in members}
    assert names.get('jdoe') == 'sponsor' and names.get('admin') == 'administrator', names
    assert 'nocla' not in names, 'group/dump lists approved members only'
    ok('AccountSystem.group_members', '%d approved members of packager' % len(members))

    # pylibravatar is not installed on Debian here, so gravatar is the default service.
    url32 = fas.avatar_url('jdoe', size=32, lookup_email=False, service='gravatar')
    assert url32 == ('http://www.gravatar.com/avatar/7c8ec91db55a2a515c62d860e83469ac?s=32&d='
                     'http%3A%2F%2Ffedoraproject.org%2Fstatic%2Fimages%2Ffedora_infinity_32x32.png'), url32
    looked_up = fas.avatar_url('jdoe')   # default service, looks the e-mail up in FAS
    assert hashlib.md5(b'jdoe@example.org').hexdigest() in looked_up, looked_up
    unknown = fas.avatar_url('no-such-user', service='gravatar')
    assert '81fec6105377fc5d06d0055ef2129407' in unknown, unknown    # md5('no_email')
    expect(ValueError, fas.avatar_url, 'jdoe', size=65)
    ok('AccountSystem.avatar_url', 'test vectors; e-mail lookup; size 65 -> ValueError')

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        gurl = fas.gravatar_url('jdoe', size=140)
        expect(TypeError, fas.gravatar_url, 'jdoe', service='gravatar')
    assert any(issubclass(x.category, DeprecationWarning) for x in w), w
    assert gurl == fas.avatar_url('jdoe', size=140, service='gravatar'), gurl
    ok('AccountSystem.gravatar_url', 'deprecated alias of avatar_url(service=gravatar)')

    ids = fas.user_id()
    assert ids[100068] == 'jdoe' and ids[100001] == 'admin', 'int keys expected'
    assert all(isinstance(k, int) for k in ids)
    ok('AccountSystem.user_id', '%d accounts, int keys' % len(ids))

    people = fas.people_by_key(key='username', search='jdoe', fields=['id', 'email', 'bugzilla_email'])
    assert set(people) == {'jdoe'}, people
    assert people.jdoe.id == 100068 and people.jdoe.bugzilla_email == 'jdoe@example.org', people
    by_id = fas.people_by_key(key='id', search='*', fields=['username'])
    assert by_id[100068].username == 'jdoe' and 'id' not in by_id[100068], by_id[100068]
    assert 100070 in by_id, 'nocla comes from unapproved_people'
    expect(KeyError, fas.people_by_key, key='ircnick')
    expect(KeyError, fas.people_by_key, fields=['roles'])   # documented but rejected client side
    ok('AccountSystem.people_by_key', 'username/id keys; bad key/field -> KeyError')

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        everyone = fas.people_by_id()
    assert any(issubclass(x.category, DeprecationWarning) for x in w), w
    assert everyone[100068]['username'] == 'jdoe', everyone[100068]
    assert everyone[100068]['email'] == 'jdoe@example.org', everyone[100068]
    ok('AccountSystem.people_by_id', '%d people (deprecated)' % len(everyone))

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        in_group = fas.people_by_groupname('packager')
    usernames = {p['username'] for p in in_group}
    assert {'jdoe', 'admin', 'nocla'} <= usernames, 'unapproved members are included'
    ok('AccountSystem.people_by_groupname', '%d incl. unapproved nocla' % len(in_group))

    assert fas.get_config('jdoe', 'bugzilla', 'login') == 'jdoe@example.org'
    assert fas.get_config('jdoe', 'bugzilla', 'nothing') is None
    e = expect(AppError, fas.get_config, 'admin', 'bugzilla', 'login')
    assert e.name == 'AuthorizationError', (e.name, e.message)
    ok('AccountSystem.get_config', "own value; missing -> None; other's -> AppError(AuthorizationError)")

    like = fas.get_configs_like('jdoe', 'moin')
    assert like == {'theme': 'fedora'}, like
    ok('AccountSystem.get_configs_like', repr(dict(like)))

    assert fas.set_config('jdoe', 'moin', 'theme', 'light blue & \u00fc') is None
    assert fas.get_config('jdoe', 'moin', 'theme') == 'light blue & \u00fc'
    # The application name passes the validator but not the database's check constraint.
    e = expect(AppError, fas.set_config, 'jdoe', 'nosuchapp', 'x', 'y')
    assert e.name == 'DBAPIError', (e.name, e.message)
    e = expect(AppError, fas.set_config, 'no-such-user', 'moin', 'theme', 'x')
    assert e.name == 'Invalid', (e.name, e.message)
    e = expect(AppError, fas.set_config, 'admin', 'moin', 'theme', 'x')
    assert e.name == 'AuthorizationError', (e.name, e.message)
    ok('AccountSystem.set_config', 'round trip; AppError DBAPIError, Invalid, AuthorizationError')

    rows = fas.people_query(constraints={'username': 'jdoe'}, columns=['id', 'username', 'email'])
    assert len(rows) == 1 and rows[0].id == 100068 and rows[0].email == 'jdoe@example.org', rows
    e = expect(AppError, fas.people_query, constraints={'username': 'j%'}, columns=['password'])
    assert e.name == 'FASError' and e.message == 'Invalid column requested.', (e.name, e.message)
    ok('AccountSystem.people_query', "1 row; column 'password' -> AppError(FASError)")

    cert = fas.user_gencert()
    assert '-----BEGIN CERTIFICATE-----' in cert and 'PRIVATE KEY-----' in cert, cert[:80]
    check_gencert_without_cla(url)
    ok('AccountSystem.user_gencert', 'jdoe: cert+key; nocla: ServerError, CLAError with tg_format=json')

    assert fas.verify_password('jdoe', 'jdoe-pass') is True
    assert fas.verify_password('jdoe', 'wrong') is False
    assert fas.verify_password('inactive', 'inactive-pass') is False
    ok('AccountSystem.verify_password', 'right -> True; wrong, inactive -> False')

    groups = fas.group_data()
    assert 100068 in groups.packager.sponsors and 100001 in groups.packager.administrators, groups.packager
    assert 100070 not in groups.packager.users, 'approved roles only'
    assert fas.group_data(force_refresh=True).keys() == groups.keys()
    ok('AccountSystem.group_data', '%d groups; force_refresh' % len(groups))

    users = fas.user_data()
    assert users['100068'].username == 'jdoe' and users['100068'].password == '*', users['100068']
    assert users['100068'].ssh_key == '', 'ssh keys only for thirdparty'
    assert '100077' not in users, 'inactive accounts are left out'
    ok('AccountSystem.user_data', '%d active accounts, str keys' % len(users))

    data = fas.send_request('json/person_by_username', req_params={'username': 'jdoe'}, auth=True)
    assert data.success is True and data.person.username == 'jdoe', data
    e = expect(ServerError, fas.send_request, 'no/such/method', auth=True)
    assert e.code == 404, e.code
    e = expect(ServerError, fas.send_request, 'json/person_by_username',
               req_params={'username': 'jdoe', 'bogus': '1'}, auth=True)
    assert e.code == 500, 'unknown parameters are HTTP 500 (tg.strict_parameters)'
    ok('AccountSystem.send_request', 'json/person_by_username; 404 and 500 -> ServerError')

    # create_group: sysadm is an approved sysadmin member. The segments are quoted twice
    # by python-fedora and decoded once by the server, so the display name keeps %20.
    sysadm = AccountSystem(url, username='sysadm', password='sysadm-pass', cache_session=False)
    created = sysadm.create_group('pytest-group', 'Py Test', 'jdoe', 'tracking',
                                  joinmsg='welcome')
    assert created.group.name == 'pytest-group', created
    assert created.group.display_name == 'Py%20Test', created.group.display_name
    assert created.group.joinmsg == 'welcome', created.group
    assert fas.group_by_name('pytest-group').owner_id == 100068
    # Not allowed: FAS flashes and redirects to its index, which answers {} + tg_flash.
    denied = fas.create_group('jdoe-group', 'X', 'jdoe', 'tracking')
    assert 'group' not in denied, denied
    expect(AppError, fas.group_by_name, 'jdoe-group')
    ok('AccountSystem.create_group', 'sysadm creates (display name double-quoted); jdoe refused')

    # Wrong password: FAS answers 403 with the login dict.
    bad = AccountSystem(url, username='admin', password='wrong', cache_session=False)
    expect(AuthError, bad.person_by_username, 'jdoe')
    # ...unless the username has a live session in ~/.fedora/fedora_session: it is read even
    # with cache_session=False and sent next to the wrong password, and FAS falls back to
    # the cookie when the form login fails (spec/fas-client.md §5.8, fas-server.md §6.4).
    cached = AccountSystem(url, username='jdoe', password='wrong', cache_session=False)
    assert cached.person_by_username('jdoe').username == 'jdoe'
    # Nothing to authenticate with: python-fedora refuses before any I/O.
    anon = AccountSystem(url, cache_session=False)
    expect(AuthError, anon.person_by_username, 'jdoe')
    # A session the server does not know: FAS sees an anonymous caller and answers 403.
    stale = AccountSystem(url, session_id='0' * 40, cache_session=False)
    expect(AuthError, stale.user_id)

    sid = fas.session_id
    assert fas.logout() is None
    assert not fas.session_id   # '' once re-read from the (now empty) cache
    with open(SESSION_CACHE, 'rb') as f:
        assert pickle.load(f) == {}, 'logout rewrites the cache without jdoe'
    assert FasProxyClient(url).verify_session(sid) is False, 'the session is gone on the server'
    ok('AccountSystem.logout', 'session dropped on both sides; bad/no/stale auth -> AuthError')


def check_gencert_without_cla(url):
    nocla = AccountSystem(url, username='nocla', password='nocla-pass', cache_session=False)
    # spec/fas-server.md §5.20 predicts a JSON-decode ServerError: with Accept-only JSON,
    # FAS redirects (303, Location with ?_csrf_token=, see enable_csrf) to the HTML-only
    # /fpca/ page; python-requests follows it as a GET that still carries the tg-visit
    # cookie, the token in the URL keeps the visit logged in, and the 200 HTML page fails
    # response.json(). So the caller never sees the CLAError python-fedora has for it.
    e = expect(ServerError, nocla.user_gencert)
    assert e.code == 200 and 'json' in e.msg.lower(), (e.code, e.msg)
    # The JSON answer exists only with a literal tg_format=json; then python-fedora's own
    # `if not request['cla']: raise CLAError` is what fires.
    data = nocla.send_request('user/dogencert', req_params={'tg_format': 'json'}, auth=True)
    assert data.cla is False and 'cert' not in data, data

    class JsonFormatAccountSystem(AccountSystem):
        def send_request(self, method, req_params=None, **kw):
            return AccountSystem.send_request(self, method, dict(req_params or {}, tg_format='json'), **kw)

    expect(CLAError, JsonFormatAccountSystem(url, username='nocla', password='nocla-pass',
                                             cache_session=False).user_gencert)


# ---------------------------------------------------------------------------------------
# FasProxyClient

def check_fas_proxy(url):
    proxy = FasProxyClient(url)

    sid, data = proxy.login('jdoe', 'jdoe-pass')
    assert HEX40.match(sid), sid
    assert data.user.username == 'jdoe' and 'packager' in data.user.groups, data.user.keys()
    expect(AuthError, proxy.login, 'jdoe', 'wrong')
    expect(AuthError, proxy.login, 'disabled', 'disabled-pass')
    ok('FasProxyClient.login', 'whole login answer; wrong/disabled -> AuthError')

    assert proxy.verify_session(sid) is True
    assert proxy.verify_session('f' * 40) is False
    assert proxy.verify_session('') is False
    ok('FasProxyClient.verify_session', 'live -> True; unknown, empty -> False')

    result = proxy.refresh_session(sid)
    assert isinstance(result, tuple) and result[0] == sid, result   # a tuple, not the id
    ok('FasProxyClient.refresh_session', 'returns (session_id, data)')

    assert proxy.verify_password('jdoe', 'jdoe-pass') is True
    assert proxy.verify_password('jdoe', 'nope') is False
    ok('FasProxyClient.verify_password', 'right -> True; wrong -> False')

    auth = {'session_id': sid}
    new_sid, person = proxy.get_user_info(auth)
    assert new_sid == sid and person.username == 'jdoe' and person.id == 100068, person
    _, other = proxy.get_user_info({'username': 'admin', 'password': 'admin'})
    assert other.username == 'admin'
    expect(AuthError, proxy.get_user_info, {'username': 'jdoe'})    # half the credentials
    ok('FasProxyClient.get_user_info', 'by session and by password')

    _, person = proxy.person_by_id(100001, auth)
    assert person.username == 'admin', person
    assert 'bugzilla_email' not in person
    e = expect(AppError, proxy.person_by_id, 99999999, auth)
    assert e.name == 'Generic AppError', e.name
    ok('FasProxyClient.person_by_id', "admin; unknown -> AppError('Generic AppError')")

    _, groups = proxy.group_list(auth)
    names = {g.name for g in groups.groups}
    assert {'packager', 'cla_done'} <= names and 'fas-private' not in names, names
    # fas-client.md §3 promises memberships keyed by group id, but FAS fills them only for
    # a literal tg_format=json (fas-server.md §5.16); python-fedora sends Accept only.
    assert groups.memberships == {}, groups.memberships
    _, with_members = proxy.send_request('group/list', req_params={'tg_format': 'json'},
                                         auth_params=auth)
    assert {'person_id': 100068, 'role_type': 'sponsor'} in with_members.memberships['100300']
    ok('FasProxyClient.group_list', '%d groups, memberships {} (tg_format=json: filled)' % len(names))

    _, data = proxy.send_request('json/user_id', auth_params=auth)
    assert data.people['100068'] == 'jdoe'
    # The server's side of "auth required": anonymous -> 403 -> AuthError.
    expect(AuthError, proxy.send_request, 'json/person_by_username', req_params={'username': 'jdoe'})
    ok('FasProxyClient.send_request', 'json/user_id; anonymous -> AuthError')

    assert proxy.logout(sid) is None
    assert proxy.verify_session(sid) is False
    ok('FasProxyClient.logout', 'session invalid afterwards')


# ---------------------------------------------------------------------------------------

def run_against(exe, label, *args):
    started = time.monotonic()
    emu = Emulator(exe, *args)
    try:
        print('--- %s: %s%s' % (label, emu.fas_url,
                                ' (CA %s)' % emu.ca_file if emu.ca_file else ''), flush=True)
        if emu.ca_file:
            # Verification stays on: first without the emulator's CA it must fail, then
            # python-requests takes the CA from REQUESTS_CA_BUNDLE (trust_env).
            try:
                FasProxyClient(emu.fas_url).verify_session('0' * 40)
            except requests.exceptions.SSLError:
                pass
            else:
                raise AssertionError('HTTPS worked without the emulator CA')
            os.environ['REQUESTS_CA_BUNDLE'] = emu.ca_file
        checked.clear()
        check_account_system(emu.fas_url)
        check_fas_proxy(emu.fas_url)
        missing_as = public_methods(AccountSystem) - {n.split('.')[1] for n in checked
                                                      if n.startswith('AccountSystem.')}
        missing_fp = public_methods(FasProxyClient) - {n.split('.')[1] for n in checked
                                                       if n.startswith('FasProxyClient.')}
        assert not missing_as and not missing_fp, ('unchecked methods', missing_as, missing_fp)
    finally:
        os.environ.pop('REQUESTS_CA_BUNDLE', None)
        rc = emu.stop()
    assert rc == 0, 'emulator exit code %r after SIGTERM: %s' % (rc, ''.join(emu.stderr))
    print('--- %s: %d methods in %.1f s, emulator stopped cleanly'
          % (label, len(checked), time.monotonic() - started), flush=True)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe = os.path.abspath(argv[1])
    assert public_methods(AccountSystem) == AS_METHODS, public_methods(AccountSystem) ^ AS_METHODS
    assert public_methods(FasProxyClient) == FP_METHODS, public_methods(FasProxyClient) ^ FP_METHODS
    try:
        run_against(exe, 'HTTP', '--http')
        run_against(exe, 'HTTPS', '--https', '--cert-dir', os.path.join(SCRATCH, 'certs'))
        # Nothing may have been written to the real home directory.
        assert os.path.expanduser('~') == HOME
    except AssertionError:
        traceback.print_exc()
        print('FAIL', flush=True)
        return 1
    except Exception:
        traceback.print_exc()
        print('FAIL (unexpected exception)', flush=True)
        return 1
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    print('PASS', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
