# Sourced by up.sh: a fresh CA and the certificates of one local cluster, made with openssl.
# ECDSA P-256 keys: a dozen RSA keys cost ~2 s of every cluster-up here, these cost ~0.1 s.
# shellcheck shell=bash

# cert NAME CN [O] [SANS] [CA]: a key and a certificate signed by CA (default: the cluster CA).
cert() {
  local name=$1 cn=$2 org=${3:-} sans=${4:-} ca=${5:-ca} subj ext
  subj="/CN=$cn${org:+/O=$org}"
  ext="$PKI/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$name.key" -subj "$subj" \
    -out "$PKI/$name.csr" 2>/dev/null || die "openssl: no key/CSR for $name in $PKI"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 30 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null || die "openssl: cannot sign $name"
  rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig NAME: a kubeconfig for the client certificate NAME.
kubeconfig() {
  local name=$1
  cat >"$PKI/$name.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: kserve-py
  cluster:
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
    server: https://$NODE_IP:6443
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$name.crt")
    client-key-data: $(base64 -w0 "$PKI/$name.key")
contexts:
- name: kserve-py
  context: {cluster: kserve-py, user: $name}
current-context: kserve-py
YAML
}

make_ca() {  # make_ca NAME CN: a self-signed CA
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
    -days 30 -subj "/CN=$2" 2>/dev/null || die "openssl: no CA $1 in $PKI"
}

make_pki() {
  mkdir -p "$PKI"
  make_ca ca kserve-py-cluster-ca
  # the aggregation layer's own CA, as kubeadm does: a client certificate of the cluster CA
  # must not be able to pose as the apiserver's proxy (which asserts any user in headers)
  make_ca front-proxy-ca kserve-py-front-proxy-ca
  cert front-proxy-client front-proxy-client "" "" front-proxy-ca
  # metrics-server's serving certificate: the APIService trusts our CA, not "skip TLS verify"
  cert metrics-server metrics-server "" "DNS:metrics-server.kube-system.svc"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null
  openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$NODE_IP,IP:$API_SERVICE_IP,IP:127.0.0.1"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin kubernetes-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert kubelet "system:node:$NODE_NAME" system:nodes "DNS:$NODE_NAME,IP:$NODE_IP"
  cert kube-proxy system:kube-proxy
  local n
  for n in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$n"; done
}
