"""End to end: pytest-lsp (a real LSP client, with VS Code's capabilities) drives `mbt lsp`
over stdio on a temporary copy of examples/telecom-churn.

Run by tests/lsp_client.rs with MBT_BIN (the mbt under test) and MBT_LSP_PROJECT (the copy).
"""

import asyncio
import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

MBT = os.environ["MBT_BIN"]
PROJECT = pathlib.Path(os.environ["MBT_LSP_PROJECT"]).resolve()
BASE = PROJECT / "pipelines" / "_base_churn.yaml"
GBM = PROJECT / "pipelines" / "churn_gbm_v1.yaml"
DEPENDENTS = ["churn_forest_v1.yaml", "churn_gbm_v1.yaml", "churn_training_v1.yaml"]


def uri(path: pathlib.Path) -> str:
    return path.as_uri()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[MBT, "lsp", "--stdio"]),
)
async def client(lsp_client: LanguageClient):
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params):  # the server registers file watchers
        return None

    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        workspace_folders=[types.WorkspaceFolder(uri=uri(PROJECT), name="project")],
        root_uri=uri(PROJECT),
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def wait_for(client: LanguageClient, predicate, timeout=20.0):
    """Waits until `predicate()` holds, re-checking after each published diagnostics."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"timed out; diagnostics: {client.diagnostics}"
        try:
            await asyncio.wait_for(
                client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), remaining
            )
        except asyncio.TimeoutError:
            pass


def open_document(client: LanguageClient, path: pathlib.Path) -> str:
    text = path.read_text()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri(path), language_id="yaml", version=1, text=text)
        )
    )
    return text


def change(client: LanguageClient, path: pathlib.Path, text: str, version: int):
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def position(text: str, needle: str, shift: int = 0) -> types.Position:
    offset = text.index(needle)
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return types.Position(line=line, character=len(text[start:offset].encode("utf-16-le")) // 2 + shift)


async def test_base_error_reaches_dependents_and_clears(client: LanguageClient):
    text = open_document(client, BASE)
    await wait_for(client, lambda: uri(BASE) in client.diagnostics)
    assert not client.diagnostics[uri(BASE)]

    change(client, BASE, text.replace("primary_metric: roc_auc", "primary_metric: roc_aucc"), 2)
    dependents = [uri(PROJECT / "pipelines" / name) for name in DEPENDENTS]
    await wait_for(client, lambda: all(client.diagnostics.get(d) for d in dependents) and client.diagnostics.get(uri(BASE)))
    [error] = client.diagnostics[uri(BASE)]
    assert error.code == "MBT2003"
    assert error.code_description.href == "https://mbt.dev/docs/errors/MBT2003"
    for dependent in dependents:
        [pointer] = client.diagnostics[dependent]
        assert pointer.code == "MBT2003"
        assert pointer.related_information[0].location.uri == uri(BASE)

    # The quick fix comes back through a code action.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(BASE)),
            range=error.range,
            context=types.CodeActionContext(diagnostics=[error]),
        )
    )
    assert actions and actions[0].title == "Replace with `roc_auc`"
    edit = actions[0].edit.changes[uri(BASE)][0]
    assert edit.new_text == "roc_auc"

    change(client, BASE, text, 3)
    await wait_for(client, lambda: not client.diagnostics.get(uri(BASE)) and not any(client.diagnostics.get(d) for d in dependents))


async def test_complete_hover_definition_inlay_hints(client: LanguageClient):
    text = open_document(client, GBM)
    typed = text.replace("framework: gbm", "framework: g")
    change(client, GBM, typed, 2)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(GBM)),
            position=position(typed, "framework: g", 12),
        )
    )
    items = result if isinstance(result, list) else result.items
    assert {item.label for item in items} == {"automl", "gbm", "h2o_automl", "sklearn", "smartcore"}
    change(client, GBM, text, 3)

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri(GBM)), position=position(text, "project:", 1))
    )
    assert "customer_analytics_team" in hover.contents.value
    assert "pipelines/_base_churn.yaml:5" in hover.contents.value

    definition = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri(GBM)), position=position(text, "_base_churn", 2))
    )
    locations = definition if isinstance(definition, list) else [definition]
    assert locations[0].uri == uri(BASE)

    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri(GBM)),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=100, character=0)),
        )
    )
    labels = [hint.label for hint in hints]
    assert any("owner: customer_analytics_team" in label for label in labels), labels
