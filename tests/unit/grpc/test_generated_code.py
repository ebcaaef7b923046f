import filecmp

from tests.support.grpc.codegen import PROTO, SOURCES, generate, generated


def test_the_committed_grpc_code_is_what_the_proto_files_generate(tmp_path):
    generate(tmp_path)
    assert SOURCES, "no .proto file under proto/"
    for source in SOURCES:
        for fresh, committed in zip(generated(source, tmp_path), generated(source, PROTO), strict=True):
            assert committed.exists(), f"{committed} is missing: run python -m tests.support.grpc.codegen"
            assert filecmp.cmp(fresh, committed, shallow=False), (
                f"{committed.relative_to(PROTO)} is stale: run python -m tests.support.grpc.codegen"
            )
