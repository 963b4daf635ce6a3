package node

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func (n *Node) startGRPC() {
	n.grpcServer = grpc.NewServer(grpc.MaxRecvMsgSize(maxMessageBytes), grpc.MaxSendMsgSize(maxMessageBytes),
		grpc.InitialWindowSize(streamWindowBytes), grpc.InitialConnWindowSize(connWindowBytes), serverBuffers)
	cairnv1.RegisterIngestServiceServer(n.grpcServer, &ingestService{n: n})
	cairnv1.RegisterClusterServiceServer(n.grpcServer, &clusterService{n: n})
	cairnv1.RegisterQueryServiceServer(n.grpcServer, &queryService{n: n})
	cairnv1.RegisterRetentionServiceServer(n.grpcServer, &retentionService{n: n})
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.grpcServer.Serve(n.grpcLis); err != nil && !n.closed.Load() {
			n.log.Error("grpc server stopped", "err", err)
		}
	}()
}

type clusterService struct {
	cairnv1.UnimplementedClusterServiceServer
	n *Node
}

func (s *clusterService) Status(ctx context.Context, _ *cairnv1.StatusRequest) (*cairnv1.StatusResponse, error) {
	st, err := s.n.clusterStatus(ctx)
	return st, toStatus(err)
}

func (s *clusterService) LocalStatus(context.Context, *cairnv1.LocalStatusRequest) (*cairnv1.LocalStatusResponse, error) {
	return s.n.localStatus(), nil
}

func (s *clusterService) Join(ctx context.Context, req *cairnv1.JoinRequest) (*cairnv1.JoinResponse, error) {
	resp := &cairnv1.JoinResponse{}
	err := s.n.onMetaLeader(ctx, func() error {
		known := findNode(s.n.metaFSM.State(), req.Id) != nil
		st, err := s.n.join(req)
		resp.State = st
		if err != nil || known {
			return err
		}
		return s.n.audit(ctx, "JoinNode", req, nil)
	}, func(ctx context.Context, conn *grpc.ClientConn) error {
		r, err := cairnv1.NewClusterServiceClient(conn).Join(ctx, req)
		if err == nil {
			resp = r
		}
		return err
	})
	return resp, toStatus(err)
}

func (s *clusterService) RemoveNode(ctx context.Context, req *cairnv1.RemoveNodeRequest) (*cairnv1.RemoveNodeResponse, error) {
	if err := s.n.requireAdmin(ctx, "remove node"); err != nil {
		return nil, err
	}
	resp := &cairnv1.RemoveNodeResponse{}
	err := s.n.onMetaLeader(ctx, func() error {
		was := findNode(s.n.metaFSM.State(), req.Id)
		moved, err := s.n.removeNode(req.Id)
		resp.Moved = moved
		if err != nil || was == nil || was.Removed {
			return err
		}
		return s.n.audit(ctx, "RemoveNode", req, nil)
	}, func(ctx context.Context, conn *grpc.ClientConn) error {
		r, err := cairnv1.NewClusterServiceClient(conn).RemoveNode(ctx, req)
		if err == nil {
			resp = r
		}
		return err
	})
	return resp, toStatus(err)
}

func (s *clusterService) CreateToken(ctx context.Context, req *cairnv1.CreateTokenRequest) (*cairnv1.CreateTokenResponse, error) {
	if err := s.n.requireAdmin(ctx, "create token"); err != nil {
		return nil, err
	}
	if _, err := tokenRequestAccounts(req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "cannot create token: %v", err)
	}
	var resp *cairnv1.CreateTokenResponse
	err := s.n.onMetaLeader(ctx, func() error {
		var err error
		if resp, err = s.n.createToken(req); err != nil {
			return err
		}
		// The response without the token string, which is shown only once.
		return s.n.audit(ctx, "CreateToken", req, resp.Info)
	}, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = cairnv1.NewClusterServiceClient(conn).CreateToken(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func (s *clusterService) ListTokens(ctx context.Context, req *cairnv1.ListTokensRequest) (*cairnv1.ListTokensResponse, error) {
	if err := s.n.requireAdmin(ctx, "list tokens"); err != nil {
		return nil, err
	}
	var resp *cairnv1.ListTokensResponse
	err := s.n.metaRead(ctx, func() error {
		resp = s.n.listTokens()
		return nil
	}, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = cairnv1.NewClusterServiceClient(conn).ListTokens(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func (s *clusterService) RevokeToken(ctx context.Context, req *cairnv1.RevokeTokenRequest) (*cairnv1.RevokeTokenResponse, error) {
	if err := s.n.requireAdmin(ctx, "revoke token"); err != nil {
		return nil, err
	}
	if req.Id == "" {
		return nil, status.Error(codes.InvalidArgument, "revoke token needs a token id (cairnctl token list shows them)")
	}
	var resp *cairnv1.RevokeTokenResponse
	err := s.n.onMetaLeader(ctx, func() error {
		var err error
		if resp, err = s.n.revokeToken(req.Id); err != nil || resp.AlreadyRevoked {
			return err
		}
		return s.n.audit(ctx, "RevokeToken", req, nil)
	}, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = cairnv1.NewClusterServiceClient(conn).RevokeToken(ctx, req)
		return err
	})
	return resp, toStatus(err)
}

func (s *clusterService) Register(ctx context.Context, req *cairnv1.RegisterRequest) (*cairnv1.RegisterResponse, error) {
	if req.Node == nil || req.Node.Id == "" {
		return nil, status.Error(codes.InvalidArgument, "register needs a node id")
	}
	err := s.n.onMetaLeader(ctx, func() error {
		cur := findNode(s.n.metaFSM.State(), req.Node.Id)
		if cur != nil && cur.GrpcAddr == req.Node.GrpcAddr && cur.RaftAddr == req.Node.RaftAddr && cur.HttpAddr == req.Node.HttpAddr {
			return nil
		}
		return s.n.proposeMeta(cairnv1.CommandType_COMMAND_TYPE_META_REGISTER_NODE, req.Node)
	}, func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := cairnv1.NewClusterServiceClient(conn).Register(ctx, req)
		return err
	})
	return &cairnv1.RegisterResponse{}, toStatus(err)
}

func (s *clusterService) Write(ctx context.Context, req *cairnv1.WriteRequest) (*cairnv1.WriteResponse, error) {
	return s.n.serveWrite(ctx, req)
}

func (s *clusterService) ShardDigest(ctx context.Context, req *cairnv1.ShardDigestRequest) (*cairnv1.ShardDigestResponse, error) {
	sh := s.n.shard(req.Shard)
	if sh == nil {
		return nil, toStatus(ErrNotHosted)
	}
	if req.Barrier {
		if !sh.group.isLeader() {
			return nil, toStatus(sh.group.notLeader())
		}
		if err := sh.group.raft.Barrier(10 * time.Second).Error(); err != nil {
			return nil, status.Errorf(codes.Unavailable, "shard %d: barrier: %v", req.Shard, err)
		}
	}
	db, release := sh.fsm.DB()
	defer release()
	applied, events, digest, err := db.Digest()
	if err != nil {
		return nil, toStatus(err)
	}
	return &cairnv1.ShardDigestResponse{Shard: req.Shard, NodeId: s.n.cfg.ID, AppliedIndex: applied, Events: events, Digest: digest}, nil
}

func (s *clusterService) ShardEventIDs(req *cairnv1.ShardEventIDsRequest, stream cairnv1.ClusterService_ShardEventIDsServer) error {
	sh := s.n.shard(req.Shard)
	if sh == nil {
		return toStatus(ErrNotHosted)
	}
	db, release := sh.fsm.DB()
	defer release()
	var chunk []*cairnv1.EventKey
	err := db.ScanEventKeys(func(account, eventID string) error {
		chunk = append(chunk, &cairnv1.EventKey{Account: account, EventId: eventID})
		if len(chunk) == 5000 {
			err := stream.Send(&cairnv1.ShardEventIDsResponse{Keys: chunk})
			chunk = nil
			return err
		}
		return nil
	})
	if err != nil {
		return toStatus(err)
	}
	if len(chunk) > 0 {
		return stream.Send(&cairnv1.ShardEventIDsResponse{Keys: chunk})
	}
	return nil
}

func (s *clusterService) Accounts(ctx context.Context, _ *cairnv1.AccountsRequest) (*cairnv1.AccountsResponse, error) {
	resp, err := s.n.accounts(ctx)
	return resp, toStatus(err)
}

func (s *clusterService) ShardAccounts(ctx context.Context, req *cairnv1.ShardAccountsRequest) (*cairnv1.ShardAccountsResponse, error) {
	accounts, err := s.n.localShardAccounts(req.Shard)
	if err != nil {
		setLeaderTrailer(ctx, err)
		return nil, toStatus(err)
	}
	return &cairnv1.ShardAccountsResponse{Accounts: accounts}, nil
}

// localStatus is this node's own view of its replicas.
func (n *Node) localStatus() *cairnv1.LocalStatusResponse {
	shards := n.localShards()
	resp := &cairnv1.LocalStatusResponse{NodeId: n.cfg.ID, MetaAppliedIndex: n.meta.raft.AppliedIndex()}
	for _, s := range shards {
		resp.Shards = append(resp.Shards, s.localStatus())
	}
	sort.Slice(resp.Shards, func(i, j int) bool { return resp.Shards[i].Id < resp.Shards[j].Id })
	return resp
}

// clusterStatus asks every registered node for its local status and merges
// the answers with the meta group's registry and shard map.
func (n *Node) clusterStatus(ctx context.Context) (*cairnv1.StatusResponse, error) {
	st := n.metaFSM.State()
	if st.Shards == 0 {
		return nil, ErrNotInitialized
	}
	suffrage := map[string]string{}
	if conf, err := n.meta.configuration(); err == nil {
		for _, s := range conf.Servers {
			if s.Suffrage == raft.Voter {
				suffrage[string(s.ID)] = "voter"
			} else {
				suffrage[string(s.ID)] = "nonvoter"
			}
		}
	}
	locals := make([]*cairnv1.LocalStatusResponse, len(st.Nodes))
	var wg sync.WaitGroup
	for i, node := range st.Nodes {
		if node.Removed {
			continue
		}
		if node.Id == n.cfg.ID {
			locals[i] = n.localStatus()
			continue
		}
		if node.GrpcAddr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if resp, err := n.peers.client(node.GrpcAddr).LocalStatus(cctx, &cairnv1.LocalStatusRequest{}); err == nil {
				locals[i] = resp
			}
		}()
	}
	wg.Wait()
	resp := &cairnv1.StatusResponse{MetaLeader: n.meta.leader()}
	byShard := map[uint32]map[string]*cairnv1.LocalShard{}
	for i, node := range st.Nodes {
		ns := &cairnv1.NodeStatus{Id: node.Id, GrpcAddr: node.GrpcAddr, RaftAddr: node.RaftAddr, HttpAddr: node.HttpAddr, MetaSuffrage: suffrage[node.Id]}
		switch {
		case node.Removed:
			ns.State = "removed"
		case locals[i] != nil && ns.MetaSuffrage == "nonvoter":
			ns.State = "joining"
		case locals[i] != nil:
			ns.State = "alive"
		default:
			ns.State = "unreachable"
		}
		resp.Nodes = append(resp.Nodes, ns)
		if locals[i] == nil {
			continue
		}
		for _, ls := range locals[i].Shards {
			if byShard[ls.Id] == nil {
				byShard[ls.Id] = map[string]*cairnv1.LocalShard{}
			}
			byShard[ls.Id][node.Id] = ls
		}
	}
	sort.Slice(resp.Nodes, func(i, j int) bool { return resp.Nodes[i].Id < resp.Nodes[j].Id })
	for _, p := range st.Placement {
		ss := &cairnv1.ShardStatus{Id: p.Shard, Replicas: append([]string(nil), p.Replicas...), ReplicaApplied: map[string]uint64{}}
		var leader *cairnv1.LocalShard
		for id, ls := range byShard[p.Shard] {
			ss.ReplicaApplied[id] = ls.AppliedIndex
			if ls.RaftState == raft.Leader.String() && (leader == nil || ls.Term > leader.Term) {
				leader = ls
				ss.Leader = id
			}
			if ls.AppliedIndex > ss.AppliedIndex {
				ss.AppliedIndex, ss.Events = ls.AppliedIndex, ls.Events
			}
		}
		if leader != nil {
			ss.AppliedIndex, ss.Events = leader.AppliedIndex, leader.Events
		}
		resp.Shards = append(resp.Shards, ss)
	}
	sort.Slice(resp.Shards, func(i, j int) bool { return resp.Shards[i].Id < resp.Shards[j].Id })
	return resp, nil
}
