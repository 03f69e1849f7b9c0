//! The kit's server policy, seen through a real tonic client: health, reflection, auth,
//! load shedding, deadlines and graceful shutdown, on a small probe service.

use std::time::Duration;

use steward_kit::Application;
use steward_kit::auth::MethodScopes;
use steward_kit::config::{DbConfig, ServerConfig};
use steward_proto::testing::v1::probe_service_client::ProbeServiceClient;
use steward_proto::testing::v1::probe_service_server::ProbeServiceServer;
use steward_proto::testing::v1::{EchoRequest, SleepRequest};
use steward_testkit::TestServer;
use steward_testkit::probe::Probe;
use steward_testkit::server::{ADMIN_TOKEN, READ_TOKEN, auth_config};
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const PROBE: &str = steward_testkit::probe::SERVICE;
const SCOPES: MethodScopes = steward_testkit::probe::SCOPES;

async fn start(config: ServerConfig, probe: Probe) -> TestServer {
    let app = Application::bind(config, &auth_config())
        .await
        .expect("bind")
        .with_service(ProbeServiceServer::new(probe), SCOPES);
    TestServer::start(app)
}

fn sleep_for(ms: u64) -> SleepRequest {
    let duration = prost_types::Duration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    };
    SleepRequest { duration: Some(duration) }
}

async fn health_of(server: &TestServer, service: &str) -> Result<ServingStatus, Status> {
    let mut health = HealthClient::new(server.channel_with("no token needed here"));
    let resp = health.check(HealthCheckRequest { service: service.into() }).await?;
    Ok(resp.into_inner().status())
}

#[tokio::test]
async fn health_answers_serving_for_liveness_and_each_service_without_a_token() {
    let server = start(ServerConfig::local(), Probe::default()).await;

    assert_eq!(health_of(&server, "").await.expect("liveness"), ServingStatus::Serving);
    assert_eq!(health_of(&server, PROBE).await.expect("readiness"), ServingStatus::Serving);
    let unknown = health_of(&server, "no.such.Service").await.expect_err("unregistered");
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn readiness_goes_not_serving_while_the_database_is_unreachable() {
    // Port 1 on loopback: nothing listens there, so every connection attempt fails.
    let mut db = DbConfig::with_url("postgres://postgres@127.0.0.1:1/postgres");
    db.acquire_timeout = Duration::from_millis(500);
    let pool = steward_kit::db::pool(&db, "kit-test").expect("pool");
    let app = Application::bind(ServerConfig::local(), &auth_config())
        .await
        .expect("bind")
        .with_service(ProbeServiceServer::new(Probe::default()), SCOPES)
        .with_readiness_db(pool);
    let server = TestServer::start(app);

    let mut status = ServingStatus::Serving;
    for _ in 0..50 {
        status = health_of(&server, PROBE).await.expect("health answers");
        if status == ServingStatus::NotServing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, ServingStatus::NotServing);
    assert_eq!(health_of(&server, "").await.expect("liveness"), ServingStatus::Serving);
}

#[tokio::test]
async fn reflection_lists_the_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = start(ServerConfig::local(), Probe::default()).await;
    let mut client = ServerReflectionClient::new(server.channel_with("none"));
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let reply = stream.message().await.expect("a reply").expect("not empty");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("expected a service list, got {:?}", reply.message_response);
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&PROBE), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_unauthenticated_and_missing_scopes_denied() {
    let server = start(ServerConfig::local(), Probe::default()).await;
    let echo = || EchoRequest { message: "hi".into() };

    let mut anonymous =
        ProbeServiceClient::new(steward_kit::client::channel(&server.url()).expect("channel"));
    assert_eq!(anonymous.echo(echo()).await.expect_err("no token").code(), Code::Unauthenticated);

    let mut wrong = ProbeServiceClient::new(server.channel_with("not-a-configured-token-at-all"));
    assert_eq!(wrong.echo(echo()).await.expect_err("bad token").code(), Code::Unauthenticated);

    let mut reader = ProbeServiceClient::new(server.channel_with(READ_TOKEN));
    assert_eq!(reader.echo(echo()).await.expect("read scope suffices").into_inner().message, "hi");
    let denied = reader.sleep(sleep_for(1)).await.expect_err("Sleep needs write");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let mut admin = ProbeServiceClient::new(server.channel());
    assert_eq!(admin.sleep(sleep_for(1)).await.expect("admin may").into_inner().slept_ms, 1);
}

#[tokio::test]
async fn calls_past_the_concurrency_limit_are_shed_with_resource_exhausted() {
    let config = ServerConfig { max_concurrent_calls: 2, ..ServerConfig::local() };
    let probe = Probe::default();
    let server = start(config, probe.clone()).await;
    let client = ProbeServiceClient::new(server.channel());

    let busy: Vec<_> = (0..2)
        .map(|_| {
            let mut c = client.clone();
            tokio::spawn(async move { c.sleep(sleep_for(1500)).await })
        })
        .collect();
    probe.until_sleeping(2).await;

    let shed = client.clone().echo(EchoRequest::default()).await.expect_err("over the limit");
    assert_eq!(shed.code(), Code::ResourceExhausted);
    // Probes are never shed.
    assert_eq!(health_of(&server, PROBE).await.expect("health"), ServingStatus::Serving);

    for call in busy {
        call.await.expect("task").expect("admitted calls finish");
    }
    client.clone().echo(EchoRequest::default()).await.expect("capacity is back");
}

#[tokio::test]
async fn a_call_that_outlives_its_deadline_is_ended() {
    let server = start(ServerConfig::local(), Probe::default()).await;
    let mut client = ProbeServiceClient::new(server.channel());

    let mut request = Request::new(sleep_for(5_000));
    request.set_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let err = client.sleep(request).await.expect_err("deadline passes first");
    assert!(matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(4), "ended by the deadline, not the sleep");
}

#[tokio::test]
async fn outgoing_calls_inherit_the_serving_calls_deadline() {
    let server = start(ServerConfig::local(), Probe::default()).await;
    let mut client = ProbeServiceClient::new(server.channel()); // 30 s default timeout

    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = steward_kit::deadline::scope(Some(deadline), client.sleep(sleep_for(5_000)))
        .await
        .expect_err("the inherited deadline ends it");
    assert!(matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn shutdown_lets_in_flight_calls_finish_and_refuses_new_ones() {
    let probe = Probe::default();
    let server = start(ServerConfig::local(), probe.clone()).await;
    let client = ProbeServiceClient::new(server.channel());

    let mut in_flight = client.clone();
    let call = tokio::spawn(async move { in_flight.sleep(sleep_for(700)).await });
    probe.until_sleeping(1).await;

    let url = server.url();
    server.stop().await.expect("clean exit");
    let done = call.await.expect("task").expect("the in-flight call completed");
    assert_eq!(done.into_inner().slept_ms, 700);

    // The listener is closed: a new connection is refused.
    let mut fresh = ProbeServiceClient::new(steward_testkit::server::channel_to(&url, ADMIN_TOKEN));
    let refused = fresh.echo(EchoRequest::default()).await.expect_err("server is gone");
    assert_eq!(refused.code(), Code::Unavailable);
}
