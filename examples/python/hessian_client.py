"""A Python client for a hessian-cluster coordinator, for notebooks.

The gRPC stubs are generated from the repository's proto/ with Debian's python3-grpc-tools
on first use (into _gen/ beside this file), so they always match the server:

    from hessian_client import Client
    c = Client('127.0.0.1:7070')
    job = c.analyze_onnx('model.onnx', data='fashion-mnist:test[0:256]', top_k=3)
    for ev in c.watch(job):            # JobEvent messages until the job ends
        print(ev.type, ev.progress.tasks_done, ev.progress.tasks_total)
    report = c.report(job)             # the report (schema hessian-cluster/report/v1) as a dict
    report['scopes'][0]['operators'][0]['top']['values']

Needs python3-grpcio and python3-grpc-tools (Debian), nothing from PyPI.
"""
import importlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, '..', '..', 'proto')
GEN = os.path.join(HERE, '_gen')
CHUNK = 1 << 20
TERMINAL = {'succeeded', 'failed', 'cancelled'}


def _stubs():
    """Generates (once) and imports the protobuf and gRPC modules of proto/hessian/v1."""
    marker = os.path.join(GEN, 'hessian', 'v1', 'coordinator_pb2_grpc.py')
    protos = [os.path.join(PROTO, 'hessian', 'v1', f) for f in ('common.proto', 'coordinator.proto')]
    if not os.path.exists(marker) or any(os.path.getmtime(p) > os.path.getmtime(marker) for p in protos):
        from grpc_tools import protoc
        os.makedirs(GEN, exist_ok=True)
        rc = protoc.main(['protoc', f'-I{PROTO}', f'--python_out={GEN}', f'--grpc_python_out={GEN}', *protos])
        if rc != 0:
            raise RuntimeError(f'protoc failed ({rc}) on {protos}')
        for d in ('hessian', os.path.join('hessian', 'v1')):
            open(os.path.join(GEN, d, '__init__.py'), 'a').close()
    if GEN not in sys.path:
        sys.path.insert(0, GEN)
    common = importlib.import_module('hessian.v1.common_pb2')
    coord = importlib.import_module('hessian.v1.coordinator_pb2')
    grpc_mod = importlib.import_module('hessian.v1.coordinator_pb2_grpc')
    return common, coord, grpc_mod


class Client:
    def __init__(self, address='127.0.0.1:7070', token=None):
        import grpc
        self.grpc = grpc
        self.common, self.pb, grpc_mod = _stubs()
        opts = [('grpc.max_receive_message_length', 64 << 20)]
        self.channel = grpc.insecure_channel(address, options=opts)
        self.stub = grpc_mod.CoordinatorStub(self.channel)
        self.metadata = [('authorization', f'Bearer {token}')] if token else None

    def upload(self, path, name=None):
        """Uploads one .onnx, Keras .h5 or .keras file (the cluster checks it); returns its digest 'sha256:HEX'."""
        ext = os.path.splitext(path)[1].lower()
        stored = {'.onnx': 'model.onnx', '.h5': 'model.h5', '.hdf5': 'model.h5', '.keras': 'model.keras'}.get(ext)
        if stored is None:
            raise ValueError(f'{path}: this client uploads one .onnx, .h5 or .keras file; use hessctl upload-model for tfjs model.json folders')

        def chunks():
            yield self.pb.UploadModelChunk(header=self.pb.UploadModelHeader(name=name or os.path.basename(path)[:-len(ext)]))
            with open(path, 'rb') as f:
                while True:
                    data = f.read(CHUNK)
                    if not data:
                        break
                    yield self.pb.UploadModelChunk(file=self.pb.FileChunk(path=stored, data=data))

        return self.stub.UploadModel(chunks(), metadata=self.metadata).digest

    def submit(self, model, data='fashion-mnist:train[0:256]', top_k=3, trace_probes=100, density=False, seed=0, layers=None):
        """Submits an analysis of an uploaded model digest (or zoo:NAME); returns the job id."""
        spec = self.common.AnalysisSpec(model=model, data=data, seed=seed, skip_density=not density,
                                        top_k=self.common.TopKSpec(k=top_k), trace=self.common.TraceSpec(probes=trace_probes))
        if layers:
            spec.layers.names.names.extend(layers)
        return self.stub.SubmitAnalysis(self.pb.SubmitAnalysisRequest(spec=spec), metadata=self.metadata).id

    def analyze_onnx(self, path, **kw):
        return self.submit(self.upload(path), **kw)

    def watch(self, job_id):
        """Yields the job's events (JobEvent messages) until it succeeds, fails or is cancelled."""
        for ev in self.stub.WatchJob(self.pb.WatchJobRequest(id=job_id), metadata=self.metadata):
            yield ev
            if ev.type in TERMINAL:
                return

    def report(self, job_id):
        """The finished job's report as a dict; raises RuntimeError with the job's sentence if it failed."""
        job = self.stub.GetJob(self.pb.GetJobRequest(id=job_id, include_report=True), metadata=self.metadata)
        if job.error:
            raise RuntimeError(job.error)
        if not job.report_json:
            raise RuntimeError(f'job {job_id} has no report yet (state {self.pb.JobState.Name(job.state)})')
        return json.loads(job.report_json)

    def close(self):
        self.channel.close()
