"""Runs the Python client against a real local cluster (hessctl cluster up: nats-server, the
coordinator, one worker): uploads a PyTorch-exported .onnx fixture, watches the job, fetches
the report as a dict and checks its top eigenvalue against PyTorch's. Skips, saying why, when
python3-grpcio / python3-grpc-tools are not installed. Run from the repository root after
`npx tsc -b`:  python3 examples/python/test_client.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    try:
        import grpc  # noqa: F401
        import grpc_tools  # noqa: F401
    except ImportError as e:
        print(f'python client test: skipped ({e.name} is not installed; scripts/setup.sh installs python3-grpcio and python3-grpc-tools when root)')
        print('0 passed, 0 failed, 1 skipped')
        return 0
    from hessian_client import Client
    hessctl = ['node', os.path.join(ROOT, 'packages/client/dist/src/cli.js')]
    d = tempfile.mkdtemp(prefix='hc-py-')
    up = subprocess.run(hessctl + ['cluster', 'up', '--workers', '1', '--dir', d, '--port', '0', '--nats-port', '0', '--metrics-port', '-1', '--format', 'json', '--timeout', '120'],
                        capture_output=True, text=True, cwd=ROOT)
    if up.returncode != 0:
        print(up.stdout, up.stderr)
        print('0 passed, 1 failed')
        return 1
    failed = 0
    try:
        c = Client(json.load(open(os.path.join(d, 'cluster.json')))['server'])
        fixture = os.path.join(ROOT, 'packages/engine/test/fixtures/onnx/mobile')
        ref = json.load(open(fixture + '.json'))
        job = c.analyze_onnx(fixture + '.onnx', data=ref['data'], top_k=1, trace_probes=10, layers=['out/Gemm'])
        types = [ev.type for ev in c.watch(job)]
        report = c.report(job)
        full = report['scopes'][0]
        top = full['operators'][0]['top']['values'][0]
        checks = {
            'events end in succeeded': types[-1] == 'succeeded',
            'report schema': report['schema'] == 'hessian-cluster/report/v1',
            'full-network top eigenvalue = PyTorch to 1e-4': abs(top - ref['full']['top']) / abs(ref['full']['top']) < 1e-4,
            'the selected layer is there': [s['name'] for s in report['scopes']] == ['full', 'out/Gemm'],
        }
        for name, ok in checks.items():
            print(('ok   ' if ok else 'FAIL ') + name)
        print(f'top eigenvalue {top} vs PyTorch {ref["full"]["top"]} (rel {abs(top - ref["full"]["top"]) / abs(ref["full"]["top"]):.2e}); events: {len(types)}')
        try:
            c.upload(os.path.join(ROOT, 'package.json'))
            failed += 1
            print('FAIL a non-.onnx file is refused by the client')
        except ValueError:
            print('ok   a non-.onnx file is refused by the client')
        bad = os.path.join(d, 'truncated.onnx')
        with open(fixture + '.onnx', 'rb') as f, open(bad, 'wb') as g:
            g.write(f.read()[:3000])
        try:
            c.upload(bad)
            failed += 1
            print('FAIL a truncated .onnx is refused at upload')
        except c.grpc.RpcError as e:
            ok = e.code() == c.grpc.StatusCode.INVALID_ARGUMENT and 'truncated or corrupt' in e.details()
            failed += 0 if ok else 1
            print(('ok   ' if ok else 'FAIL ') + f'a truncated .onnx is refused at upload ({e.code().name}: {e.details()})')
        failed += sum(1 for ok in checks.values() if not ok)
        c.close()
    finally:
        subprocess.run(hessctl + ['cluster', 'down', '--dir', d], capture_output=True, cwd=ROOT)
        shutil.rmtree(d, ignore_errors=True)
    total = 6
    print(f'{total - failed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
