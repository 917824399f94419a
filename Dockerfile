# syntax=docker/dockerfile:1
# callagent from source: docker build -t callagent . (no GoReleaser needed).
# The image runs `callagent serve`; configure it with environment variables:
#   docker run -p 8080:8080 -e OPENAI_API_KEY -e TWILIO_AUTH_TOKEN \
#     -e CALLAGENT_PUBLIC_URL=https://calls.example.com callagent

FROM golang:1.26.11-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=""
ARG DATE=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/callagent/callagent/cmd.version=${VERSION} -X github.com/callagent/callagent/cmd.commit=${COMMIT} -X github.com/callagent/callagent/cmd.date=${DATE}" \
      -o /out/callagent . \
 && /out/callagent version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/callagent /usr/local/bin/callagent
ENV PORT=8080 \
    CALLAGENT_STATE_DIR=/home/nonroot/.local/state/callagent
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/callagent"]
CMD ["serve"]
