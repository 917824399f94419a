# The release image: the binary GoReleaser built for the target platform (dockers_v2
# puts it under <os>/<arch>/ in the build context) on distroless: CA certificates,
# no shell, a non-root user. To build from source instead, use the Dockerfile at the
# repository root.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/callagent /usr/local/bin/callagent
# A container is reached from outside: listen on all its interfaces (PORT), and keep
# state (call logs) in the non-root user's home.
ENV PORT=8080 \
    CALLAGENT_STATE_DIR=/home/nonroot/.local/state/callagent
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/callagent"]
CMD ["serve"]
