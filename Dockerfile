FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /streamviz ./cmd/streamviz

FROM gcr.io/distroless/static-debian12
COPY --from=build /streamviz /streamviz
EXPOSE 3000 4222
VOLUME /data
ENTRYPOINT ["/streamviz"]
CMD ["serve", "--addr", "0.0.0.0:3000", "--nats-addr", "0.0.0.0:4222", "--data-dir", "/data"]
