// The session room: audio, video and screen share between the two browsers (WebRTC, peer to peer),
// signalled over the API's WebSocket (docs/room.md), and the room's text chat. Whoever was in the
// room first makes the offer when the other arrives; an offer collision is settled by `polite`.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { client, unwrap, type Schemas } from "../api/client";
import { Address, ConfirmAction, ErrorNote, Loading, Page } from "../components/ui";
import { describeError } from "../lib/errors";
import { formatDateTime, shortAddress } from "../lib/format";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";

/** Close codes of a connection that dropped rather than was closed on purpose: abnormal closure,
 * going away, internal error, service restart, try again later. */
const RETRIED_CLOSE_CODES = new Set([1001, 1006, 1011, 1012, 1013]);
const MAX_RETRIES = 5;

type Phase = "idle" | "joining" | "in" | "ended" | "reconnecting";
type ChatMessage = Schemas["MessagePublic"];
interface Frame {
  type: string;
  sdp?: string;
  candidate?: RTCIceCandidateInit;
  from?: string;
  peer_present?: boolean;
  polite?: boolean;
  ice_servers?: RTCIceServer[];
  message?: ChatMessage;
  code?: number;
  reason?: string;
}

export function Room() {
  const { bookingId = "" } = useParams();
  const { t } = useTranslation();
  const { signedIn } = useSession();
  if (!signedIn) return <SignInFirst title={t("room.title")} />;
  return <RoomView bookingId={bookingId} />;
}

function RoomView({ bookingId }: { bookingId: string }) {
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const queries = useQueryClient();
  const status = useStatus();
  const words = useErrorWords();
  const room = useQuery({
    queryKey: ["room", bookingId],
    queryFn: async () => unwrap(await client.GET("/rooms/{booking_id}", { params: { path: { booking_id: bookingId } } })),
  });
  const [phase, setPhase] = useState<Phase>("idle");
  const [ice, setIce] = useState<RTCIceConnectionState>("new");
  const [peerPresent, setPeerPresent] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  const [noMedia, setNoMedia] = useState<string | null>(null);
  const [muted, setMuted] = useState(false);
  const [cameraOff, setCameraOff] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [chat, setChat] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState("");
  const ws = useRef<WebSocket | null>(null);
  const pc = useRef<RTCPeerConnection | null>(null);
  const local = useRef<MediaStream | null>(null);
  const screen = useRef<MediaStreamTrack | null>(null);
  const iceServers = useRef<RTCIceServer[]>([]);
  const polite = useRef(false);
  const pending = useRef<RTCIceCandidateInit[]>([]);
  const localVideo = useRef<HTMLVideoElement>(null);
  const previewVideo = useRef<HTMLVideoElement>(null);
  const [devices, setDevices] = useState<{ audio: MediaDeviceInfo[]; video: MediaDeviceInfo[] }>({ audio: [], video: [] });
  const [cameraId, setCameraId] = useState("");
  const [micId, setMicId] = useState("");
  const [previewing, setPreviewing] = useState(false);
  const remoteVideo = useRef<HTMLVideoElement>(null);
  // Set when the user leaves (hang-up, leaving the page): a close then is not a dropped connection.
  const leaving = useRef(false);
  const retries = useRef(0);

  const send = (frame: object) => {
    if (ws.current?.readyState === WebSocket.OPEN) ws.current.send(JSON.stringify(frame));
  };

  const closePeer = () => {
    pc.current?.close();
    pc.current = null;
    pending.current = [];
    if (remoteVideo.current) remoteVideo.current.srcObject = null;
  };

  const newPeer = (): RTCPeerConnection => {
    closePeer();
    const peer = new RTCPeerConnection({ iceServers: iceServers.current });
    const stream = local.current;
    if (stream) for (const track of stream.getTracks()) peer.addTrack(track, stream);
    else {
      peer.addTransceiver("audio", { direction: "recvonly" });
      peer.addTransceiver("video", { direction: "recvonly" });
    }
    peer.ontrack = (e) => {
      if (remoteVideo.current) remoteVideo.current.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    };
    peer.onicecandidate = (e) => {
      if (e.candidate) send({ type: "candidate", candidate: e.candidate.toJSON() });
    };
    peer.oniceconnectionstatechange = () => setIce(peer.iceConnectionState);
    setIce(peer.iceConnectionState);
    pc.current = peer;
    return peer;
  };

  const offer = async () => {
    const peer = newPeer();
    await peer.setLocalDescription();
    send({ type: "offer", sdp: peer.localDescription?.sdp });
  };

  const end = () => {
    closePeer();
    local.current?.getTracks().forEach((track) => track.stop());
    screen.current?.stop();
    local.current = null;
    setPhase("ended");
    setIce("closed");
    void queries.invalidateQueries({ queryKey: ["room", bookingId] });
  };

  const onFrame = async (f: Frame) => {
    switch (f.type) {
      case "joined":
        retries.current = 0;
        iceServers.current = f.ice_servers ?? [];
        polite.current = Boolean(f.polite);
        setPeerPresent(Boolean(f.peer_present));
        setPhase("in");
        newPeer(); // ready for the offer of whoever was here first
        break;
      case "peer_joined":
        setPeerPresent(true);
        void queries.invalidateQueries({ queryKey: ["room", bookingId] });
        await offer();
        break;
      case "peer_left":
        setPeerPresent(false);
        closePeer();
        setIce("new");
        newPeer();
        void queries.invalidateQueries({ queryKey: ["room", bookingId] });
        break;
      case "offer": {
        let peer = pc.current ?? newPeer();
        if (peer.signalingState !== "stable") {
          if (!polite.current) return; // the impolite peer keeps its own offer
          if (peer.signalingState === "have-local-offer") await peer.setLocalDescription({ type: "rollback" });
          else peer = newPeer();
        }
        await peer.setRemoteDescription({ type: "offer", sdp: f.sdp });
        for (const c of pending.current.splice(0)) await peer.addIceCandidate(c).catch(() => undefined);
        await peer.setLocalDescription();
        send({ type: "answer", sdp: peer.localDescription?.sdp });
        break;
      }
      case "answer":
        if (pc.current?.signalingState === "have-local-offer") {
          await pc.current.setRemoteDescription({ type: "answer", sdp: f.sdp });
          for (const c of pending.current.splice(0)) await pc.current.addIceCandidate(c).catch(() => undefined);
        }
        break;
      case "candidate":
        if (!f.candidate?.candidate) break;
        if (pc.current?.remoteDescription) await pc.current.addIceCandidate(f.candidate).catch(() => undefined);
        else pending.current.push(f.candidate);
        break;
      case "hangup":
        end();
        break;
      case "chat":
        if (f.message) setChat((c) => (c.some((m) => m.id === f.message!.id) ? c : [...c, f.message!]));
        break;
      case "closing":
        if (f.code !== 1000) setRefused(f.reason ?? String(f.code));
        break;
      case "error":
        status.say(f.reason ?? "", "error");
        break;
    }
  };

  /** The chosen camera and microphone (the browser's default until one is picked). */
  const open = async (camera: string, mic: string): Promise<MediaStream> =>
    navigator.mediaDevices.getUserMedia({
      audio: mic ? { deviceId: { exact: mic } } : true,
      video: camera ? { deviceId: { exact: camera } } : true,
    });

  /** Before joining: open the devices, show yourself, list the cameras and microphones to choose from
   * (their names are only readable once the browser was allowed to use them). */
  const preview = async (camera = cameraId, mic = micId) => {
    try {
      local.current?.getTracks().forEach((track) => track.stop());
      local.current = await open(camera, mic);
      setNoMedia(null);
      const all = await navigator.mediaDevices.enumerateDevices();
      setDevices({ audio: all.filter((d) => d.kind === "audioinput"), video: all.filter((d) => d.kind === "videoinput") });
      setPreviewing(true);
    } catch (error) {
      local.current = null;
      setNoMedia(error instanceof Error ? error.message : String(error));
    }
  };
  useEffect(() => {
    if (previewing && previewVideo.current) previewVideo.current.srcObject = local.current;
  }, [previewing, cameraId, micId]);

  const join = async () => {
    if (!session) return;
    leaving.current = false;
    setPhase((p) => (p === "reconnecting" ? p : "joining"));
    setRefused(null);
    if (!local.current || local.current.getTracks().every((track) => track.readyState === "ended")) {
      try {
        local.current = await open(cameraId, micId);
      } catch (error) {
        local.current = null;
        setNoMedia(error instanceof Error ? error.message : String(error));
      }
    }
    setPreviewing(false);
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}/rooms/${bookingId}/ws`);
    ws.current = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "join", token: session.token }));
    socket.onmessage = (e) => {
      void onFrame(JSON.parse(String(e.data)) as Frame).catch((error: unknown) => console.warn("room signal", error));
    };
    socket.onclose = (ev) => {
      if (ws.current === socket) ws.current = null;
      // A dropped connection (network, a restarting API replica) is retried with backoff, keeping the
      // camera; a decision of the server (1000, or a 4xxx code: window closed, not a party, …) is not.
      if (!leaving.current && RETRIED_CLOSE_CODES.has(ev.code) && retries.current < MAX_RETRIES) {
        closePeer();
        setPhase("reconnecting");
        setIce("new");
        const wait = 1000 * 2 ** retries.current++;
        window.setTimeout(() => {
          if (!leaving.current) void join();
        }, wait);
        return;
      }
      end();
    };
  };

  const hangUp = () => {
    leaving.current = true;
    send({ type: "hangup" });
    ws.current?.close(1000);
    end();
  };

  // The video elements exist once the call is shown: attach the camera preview then.
  useEffect(() => {
    if (phase === "in" && localVideo.current && local.current) localVideo.current.srcObject = local.current;
  }, [phase]);

  // Leaving the page leaves the room.
  useEffect(
    () => () => {
      leaving.current = true;
      ws.current?.close(1000);
      pc.current?.close();
      local.current?.getTracks().forEach((track) => track.stop());
    },
    [],
  );

  const toggleMute = () => {
    local.current?.getAudioTracks().forEach((track) => (track.enabled = muted));
    setMuted(!muted);
  };
  const toggleCamera = () => {
    local.current?.getVideoTracks().forEach((track) => (track.enabled = cameraOff));
    setCameraOff(!cameraOff);
  };
  const videoSender = () => pc.current?.getSenders().find((s) => s.track?.kind === "video");
  const stopShare = async () => {
    screen.current?.stop();
    screen.current = null;
    setSharing(false);
    const camera = local.current?.getVideoTracks()[0] ?? null;
    await videoSender()?.replaceTrack(camera);
  };
  const share = async () => {
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const track = display.getVideoTracks()[0];
      if (!track) return;
      screen.current = track;
      track.onended = () => void stopShare();
      await videoSender()?.replaceTrack(track); // the same m-line: no renegotiation
      setSharing(true);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const sendChat = (e: FormEvent) => {
    e.preventDefault();
    if (!draft.trim()) return;
    send({ type: "chat", body: draft });
    setDraft("");
  };

  if (room.isLoading) return <Loading />;
  if (room.error || !room.data) return <ErrorNote error={room.error} />;
  const r = room.data;
  const me = session?.address ?? "";
  const other = me === r.learner ? r.mentor : r.learner;
  const when = (at: number) => formatDateTime(at, i18n.language);
  const now = Date.now() / 1000;
  return (
    <Page title={t("room.title")}>
      <p>{t("room.window", { start: when(r.starts_at), end: when(r.ends_at) })}</p>
      <p>
        <Address address={other} />
      </p>
      {!r.open_now && phase === "idle" && (
        <p className="notice">
          {r.state !== "confirmed" && r.state !== "completed"
            ? t("room.notConfirmed")
            : now < r.opens_at
              ? t("room.opensAt", { time: when(r.opens_at) })
              : t("room.closedAt", { time: when(r.closes_at) })}
        </p>
      )}
      {refused && (
        <p className="error" role="alert">
          {t("room.refused", { reason: refused })}
        </p>
      )}
      {noMedia && <p className="notice">{t("room.noMedia", { reason: noMedia })}</p>}
      {(phase === "idle" || phase === "ended") && r.open_now && (
        <div className="stack">
          {!previewing && (
            <button type="button" onClick={() => void preview()}>
              {t("room.check")}
            </button>
          )}
          {previewing && (
            <>
              <video ref={previewVideo} autoPlay playsInline muted aria-label={t("room.preview")} className="preview" />
              <div className="row">
                <label>
                  {t("room.camera")}
                  <select
                    value={cameraId}
                    onChange={(e) => {
                      setCameraId(e.target.value);
                      void preview(e.target.value, micId);
                    }}
                  >
                    <option value="">{t("room.defaultDevice")}</option>
                    {devices.video.map((d, i) => (
                      <option key={d.deviceId || i} value={d.deviceId}>
                        {d.label || t("room.cameraN", { n: i + 1 })}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  {t("room.microphone")}
                  <select
                    value={micId}
                    onChange={(e) => {
                      setMicId(e.target.value);
                      void preview(cameraId, e.target.value);
                    }}
                  >
                    <option value="">{t("room.defaultDevice")}</option>
                    {devices.audio.map((d, i) => (
                      <option key={d.deviceId || i} value={d.deviceId}>
                        {d.label || t("room.microphoneN", { n: i + 1 })}
                      </option>
                    ))}
                  </select>
                </label>
              </div>
            </>
          )}
          <button type="button" className="primary" onClick={() => void join()}>
            {phase === "ended" ? t("room.rejoin") : t("room.join")}
          </button>
        </div>
      )}
      {phase === "joining" && <p role="status">{t("room.joining")}</p>}
      {phase === "reconnecting" && <p role="status">{t("room.reconnecting")}</p>}
      {phase === "ended" && <p role="status">{t("room.ended")}</p>}
      {phase === "in" && (
        <>
          <p>
            {t("room.call")} <strong data-ice={ice}>{t(`room.ice.${ice}`)}</strong>
            {!peerPresent && ` · ${t("room.waiting", { name: shortAddress(other) })}`}
          </p>
          <div className="videos">
            <video ref={remoteVideo} autoPlay playsInline aria-label={t("room.them")} data-remote="" />
            <video ref={localVideo} autoPlay playsInline muted aria-label={t("room.you")} />
          </div>
          <div className="row">
            <button type="button" onClick={toggleMute} aria-pressed={muted}>
              {muted ? t("room.unmute") : t("room.mute")}
            </button>
            <button type="button" onClick={toggleCamera} aria-pressed={cameraOff}>
              {cameraOff ? t("room.cameraOn") : t("room.cameraOff")}
            </button>
            <button type="button" onClick={() => void (sharing ? stopShare() : share())}>
              {sharing ? t("room.stopShare") : t("room.share")}
            </button>
            <button type="button" className="danger" onClick={hangUp}>
              {t("room.hangUp")}
            </button>
          </div>
        </>
      )}
      {(phase === "in" || chat.length > 0) && (
        <section aria-labelledby="room-chat">
          <h2 id="room-chat">{t("room.chat")}</h2>
          <ol className="thread">
            {chat.map((m) => (
              <li key={m.id} className={m.sender === me ? "message mine" : "message"}>
                <p className="muted">{m.sender === me ? t("messages.you") : shortAddress(m.sender)}</p>
                <p className="body">{m.body}</p>
              </li>
            ))}
          </ol>
          {phase === "in" && (
            <form onSubmit={sendChat} className="row">
              <label htmlFor="room-chat-body">{t("room.chatBody")}</label>
              <input id="room-chat-body" value={draft} onChange={(e) => setDraft(e.target.value)} maxLength={10000} />
              <button type="submit">{t("room.chatSend")}</button>
            </form>
          )}
        </section>
      )}
      <section aria-labelledby="attendance">
        <h2 id="attendance">{t("room.attendance")}</h2>
        <ul>
          {r.attendance.map((a, i) => (
            <li key={`${a.address}-${i}`}>
              {a.address === me ? t("room.you") : shortAddress(a.address)} · {t("room.joinedAt", { time: when(a.joined_at) })} ·{" "}
              {a.left_at ? t("room.leftAt", { time: when(a.left_at) }) : t("room.here")}
            </li>
          ))}
        </ul>
      </section>
      {me === r.mentor && r.engagement_id !== null && (phase === "ended" || now >= r.ends_at) && (
        <Delivered engagementId={r.engagement_id} />
      )}
    </Page>
  );
}

/** After the session, the mentor submits its milestone from the room. */
function Delivered({ engagementId }: { engagementId: number }) {
  const { t } = useTranslation();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  return (
    <ConfirmAction
      label={t("room.delivered")}
      explain={t("room.deliveredExplain")}
      onConfirm={async () => {
        try {
          const out = unwrap(
            await client.POST("/engagements/{engagement_id}/milestones/{index}/submit", {
              params: { path: { engagement_id: engagementId, index: 0 } },
              body: { summary: t("room.delivered") },
            }),
          );
          await send(out.tx);
        } catch (error) {
          status.say(words(describeError(error)), "error");
        }
      }}
    />
  );
}
