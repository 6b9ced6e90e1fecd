# swapon --show --noheadings lists the swap file of a fresh Ubuntu until swapoff -a ran.
[ "$*" = "--show --noheadings" ] || unsupported
if [ ! -f "$state/swapoff" ]; then
  echo "/swap.img file 4G 0B -2"
fi
