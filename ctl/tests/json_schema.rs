//! JSON contract of `calico-bgpctl -o json` and of the socket protocol.
//!
//! Two committed artefacts, regenerated with `UPDATE_GOLDEN=1`:
//! - `golden/schema/{request,response}.schema.json`: JSON Schema generated
//!   by `schemars` from the Rust types. Generating it (rather than writing it
//!   by hand) keeps it exact; committing it turns any change of the wire
//!   format into a visible diff that must be reviewed against the
//!   versioning rule in `ctl::proto`.
//! - `golden/json/*.json`: one example of every response, checked against
//!   the committed schema (properties, required fields, enum values) and
//!   round-tripped through the types.

mod common;

use common::*;
use ctl::proto::*;
use serde_json::Value;

fn examples() -> Vec<(&'static str, Response)> {
    vec![
        ("peers", Response::Peers(peers())),
        ("peer", Response::Peer(Box::new(mesh_up()))),
        ("routes", Response::Routes(routes())),
        ("fib", Response::Fib(fib())),
        ("status", Response::Status(status())),
        ("status-recovering", Response::Status(status_recovering())),
        ("reload-refused", Response::Reload(reload_refused())),
        (
            "advertise",
            Response::Advertise(AdvertiseResult {
                action: AdvertiseAction::Add,
                prefix: "10.244.7.0/26".parse().unwrap(),
                changed: true,
                exported_to: 2,
            }),
        ),
        ("error", Response::Error(CtlError::no_such_peer("10.9.9.9".parse().unwrap()))),
    ]
}

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn schema_of_requests_is_committed() {
    golden("schema/request.schema.json", &pretty(&schemars::schema_for!(RequestEnvelope)));
}

#[test]
fn schema_of_responses_is_committed() {
    golden("schema/response.schema.json", &pretty(&schemars::schema_for!(ResponseEnvelope)));
}

#[test]
fn every_response_example_is_committed_and_round_trips() {
    for (name, response) in examples() {
        let envelope = ResponseEnvelope { version: PROTOCOL_VERSION, server_time: NOW, response };
        let text = pretty(&envelope);
        golden(&format!("json/{name}.json"), &text);
        let back: ResponseEnvelope = serde_json::from_str(&text).unwrap();
        assert_eq!(back, envelope, "{name} does not round-trip");
    }
}

#[test]
fn every_response_example_conforms_to_the_schema() {
    let schema = serde_json::to_value(schemars::schema_for!(ResponseEnvelope)).unwrap();
    for (name, response) in examples() {
        let envelope = ResponseEnvelope { version: PROTOCOL_VERSION, server_time: NOW, response };
        let value = serde_json::to_value(&envelope).unwrap();
        let mut errors = Vec::new();
        check(&schema, &schema, &value, name, &mut errors);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn every_request_conforms_to_the_schema() {
    let schema = serde_json::to_value(schemars::schema_for!(RequestEnvelope)).unwrap();
    let requests = [
        Request::ShowPeers,
        Request::ShowPeer { address: "fd00::1".parse().unwrap() },
        Request::ShowRoutes(RouteQuery {
            prefix: Some("10.0.0.0/8".parse().unwrap()),
            peer: Some("10.0.0.1".parse().unwrap()),
            family: Some(Family::Ipv4),
        }),
        Request::ShowFib,
        Request::ShowStatus,
        Request::Reload,
        Request::Advertise(AdvertiseRequest {
            action: AdvertiseAction::Del,
            prefix: "10.244.7.0/26".parse().unwrap(),
        }),
    ];
    for r in requests {
        let value = serde_json::to_value(RequestEnvelope::new(r.clone())).unwrap();
        let mut errors = Vec::new();
        check(&schema, &schema, &value, r.name(), &mut errors);
        assert!(errors.is_empty(), "{}: {errors:#?}", r.name());
    }
}

#[test]
fn the_checker_rejects_a_field_the_schema_lacks() {
    let schema = serde_json::to_value(schemars::schema_for!(ResponseEnvelope)).unwrap();
    let mut value = serde_json::to_value(ResponseEnvelope {
        version: 1,
        server_time: NOW,
        response: Response::Status(status()),
    })
    .unwrap();
    value["response"]["data"]["surprise"] = Value::Bool(true);
    let mut errors = Vec::new();
    check(&schema, &schema, &value, "status", &mut errors);
    assert!(errors.iter().any(|e| e.contains("surprise")), "{errors:?}");
}

/// A small JSON Schema checker for the subset schemars emits for our types:
/// `$ref`, `oneOf`/`anyOf`, `type` (string or list), `properties`,
/// `required`, `additionalProperties` (objects we define are closed: any
/// property the schema does not list is an error), `items`/`prefixItems`,
/// `enum`/`const`. Enough to catch output and schema drifting apart.
fn check(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        let mut target = root["$defs"][name].clone();
        // 2020-12 allows `$ref` beside other keywords (an implicit allOf):
        // schemars puts the tag property of a flattened variant there.
        if let (Some(extra), Some(obj)) = (schema.as_object(), target.as_object_mut()) {
            for key in ["properties", "required"] {
                match (extra.get(key), obj.get_mut(key)) {
                    (Some(Value::Object(add)), Some(Value::Object(have))) => {
                        have.extend(add.clone());
                    }
                    (Some(Value::Array(add)), Some(Value::Array(have))) => {
                        have.extend(add.iter().cloned());
                    }
                    (Some(add), None) => {
                        obj.insert(key.to_owned(), add.clone());
                    }
                    _ => {}
                }
            }
        }
        return check(root, &target, v, at, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let ok = options.iter().any(|o| {
                let mut e = Vec::new();
                check(root, o, v, at, &mut e);
                e.is_empty()
            });
            if !ok {
                errors.push(format!("{at}: matches no {key} branch: {v}"));
            }
            return;
        }
    }
    if let Some(c) = schema.get("const") {
        if c != v {
            errors.push(format!("{at}: expected {c}, found {v}"));
        }
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            errors.push(format!("{at}: {v} not in {options:?}"));
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !fits {
            errors.push(format!("{at}: type {actual}, schema wants {types:?}"));
            return;
        }
    }
    match v {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(r) {
                        errors.push(format!("{at}: required property {r} missing"));
                    }
                }
            }
            for (k, child) in map {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check(root, s, child, &format!("{at}.{k}"), errors),
                    None => errors.push(format!("{at}: property {k} not in the schema")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(prefix) = schema.get("prefixItems").and_then(Value::as_array) {
                for (i, (item, s)) in items.iter().zip(prefix).enumerate() {
                    check(root, s, item, &format!("{at}[{i}]"), errors);
                }
            } else if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(root, s, item, &format!("{at}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}
